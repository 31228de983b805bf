"""redis-ha-lab: reproduce a Redis master/replica + Sentinel + HAProxy deployment and break it.

The package follows one direction of flow::

    lab.toml -> config (validated model) -> topology (who runs where)
             -> render (per-server bundles) -> machines (Vagrant) -> provision (Fabric)
             -> probe / settle (is the lab healthy?) -> status

Each module has one job; ``lab.cli`` is the only place that turns errors into exit codes.
"""

__version__ = "0.1.0"
