"""Client errors: operations that failed with an error reply or a broken connection."""

from lab.measures.base import Measure, register, total

CLIENT_ERRORS = register(Measure(
    "client_errors", "", "operations without a plain ok (error reply, timeout, closed connection, "
    "unconfirmed)",
    lambda shards, convergence: total(sum(m.errors.values()) for m in shards),
    title="client errors"))
