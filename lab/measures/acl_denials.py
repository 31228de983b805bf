"""ACL denials: commands the instances' ACLs refused while the lab was attacked."""

from lab.measures.base import UNKNOWN, Measure, register


def _denials(shards, convergence):
    counts = [m.acl_denials for m in shards]
    if all(c is None for c in counts):
        return None  # the history never read ACL LOG (recorded before it did)
    if any(c is None for c in counts):
        return UNKNOWN
    return sum(sum(c.values()) for c in counts)


ACL_DENIALS = register(Measure(
    "acl_denials", "",
    "commands (and logins) the instances' ACLs refused during the recording, from ACL LOG "
    "read before and after",
    _denials, title="ACL denials", headline=False, in_matrix=True, zero_or_not=True))
