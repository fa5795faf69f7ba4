"""Configuration: defaults, TOML, pyproject, env overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mochi.rag.config import ConfigError, RagConfig, build_config, load_workspace_config
from mochi.rag.paths import data_dir, index_dir, workspace_id


def test_defaults_need_no_file(tmp_path: Path) -> None:
    config = load_workspace_config(RagConfig, tmp_path, environ={})
    assert config.store.backend == "edge"
    assert config.embedding.model == "all-MiniLM-L6-v2"
    assert config.embedding.trust_remote_code is False
    assert ".env" in config.secrets.paths


def test_mochi_toml_and_camel_case(tmp_path: Path) -> None:
    (tmp_path / ".mochi.toml").write_text(
        '[embedding]\nmodel = "intfloat/e5-small-v2"\nqueryPrefix = "query: "\n'
        "[index]\nmax_file_bytes = 10\nignore = ['vendor/**']\n"
    )
    config = load_workspace_config(RagConfig, tmp_path, environ={})
    assert config.embedding.model == "intfloat/e5-small-v2"
    assert config.embedding.query_prefix == "query: "
    assert config.index.max_file_bytes == 10
    assert config.index.ignore == ["vendor/**"]


def test_pyproject_tool_section(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mochi.retrieval]\ndense_weight = 0.5\n")
    assert load_workspace_config(RagConfig, tmp_path, environ={}).retrieval.dense_weight == 0.5


def test_env_overrides_file(tmp_path: Path) -> None:
    (tmp_path / ".mochi.toml").write_text("[index]\nmax_commits = 5\n")
    env = {
        "MOCHI_INDEX__MAX_COMMITS": "7",
        "MOCHI_INDEX__INCLUDE_HISTORY": "false",
        "MOCHI_INDEX__IGNORE": "a/**, b/**",
        "MOCHI_DATA_DIR": "/tmp/x",
        "MOCHI_UNRELATED_TOOL_SETTING": "ignored",
    }
    config = load_workspace_config(RagConfig, tmp_path, environ=env)
    assert config.index.max_commits == 7
    assert config.index.include_history is False
    assert config.index.ignore == ["a/**", "b/**"]
    assert config.data_dir == "/tmp/x"


@pytest.mark.parametrize(
    ("data", "key", "says"),
    [
        ({"index": {"max_fiel_bytes": 3}}, "index.max_fiel_bytes", "max_file_bytes"),
        ({"store": {"backend": "chroma"}}, "store.backend", "'edge', 'qdrant'"),
        ({"index": {"max_commits": "many"}}, "index.max_commits", "integer"),
        ({"index": {"max_commits": 0}}, "index.max_commits", "> 0"),
        ({"retrieval": {"dense_weight": 2}}, "retrieval.dense_weight", "[0, 1]"),
        ({"store": {"backend": "qdrant"}}, "store.url", "required"),
        ({"embedding": "x"}, "embedding", "table"),
        ({"index": {"ocr": "yes"}}, "index.ocr", "true or false"),
    ],
)
def test_bad_values_name_the_key(data: dict[str, object], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(RagConfig, data)
    assert info.value.key == key
    assert says in str(info.value)


def test_bad_env_value_names_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MOCHI_INDEX__MAX_COMMITS"):
        load_workspace_config(RagConfig, tmp_path, environ={"MOCHI_INDEX__MAX_COMMITS": "x"})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_workspace_config(RagConfig, tmp_path, environ={"MOCHI_INDEX__NOPE": "1"})


def test_toml_error_names_file(tmp_path: Path) -> None:
    (tmp_path / ".mochi.toml").write_text("[index\n")
    with pytest.raises(ConfigError, match=r"\.mochi\.toml"):
        load_workspace_config(RagConfig, tmp_path, environ={})


def test_data_dir_follows_xdg(tmp_path: Path) -> None:
    assert data_dir("", {"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "mochi"
    assert data_dir(str(tmp_path / "d"), {}) == (tmp_path / "d").resolve()
    a, b = tmp_path / "proj", tmp_path / "other" / "proj"
    assert workspace_id(a) != workspace_id(b)
    assert workspace_id(a).startswith("proj-")
    assert index_dir(tmp_path, a).parent == tmp_path / "indexes"


def test_dict_settings_keep_their_keys(tmp_path: Path) -> None:
    from mochi.server.config import MochiConfig

    (tmp_path / ".mochi.toml").write_text('[model.adapters]\nmyExpert = "/a"\n')
    config = load_workspace_config(
        MochiConfig, tmp_path, environ={}, overrides={"model": {"vllmUrl": "http://x"}}
    )
    assert config.model.adapters == {"myExpert": "/a"}  # a name, not a setting: kept as is
    assert config.model.vllm_url == "http://x"
    env = {"MOCHI_MODEL__ADAPTERS": '{"b": "/b"}'}
    merged = load_workspace_config(MochiConfig, tmp_path, environ=env).model.adapters
    assert merged == {"myExpert": "/a", "b": "/b"}  # tables merge, like sections
    with pytest.raises(ConfigError, match=r"model\.adapters\.x"):
        build_config(MochiConfig, {"model": {"adapters": {"x": 3}}})


def test_the_user_file_sets_defaults_for_every_workspace(tmp_path: Path) -> None:
    """`~/.config/mochi/config.toml` (or under $XDG_CONFIG_HOME) below the workspace's file
    and the environment; a caller that passes no environment reads none."""
    home = tmp_path / "home"
    user = home / ".config" / "mochi" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[embedding]\ndevice = "cuda"\n[index]\nmaxCommits = 3\nmax_file_bytes = 9\n')
    work = tmp_path / "work"
    work.mkdir()
    (work / ".mochi.toml").write_text("[index]\nmax_commits = 5\n")
    config = load_workspace_config(RagConfig, work, environ={"HOME": str(home)})
    assert (config.embedding.device, config.index.max_commits) == ("cuda", 5)
    assert config.index.max_file_bytes == 9
    env = {"HOME": str(home), "MOCHI_INDEX__MAX_FILE_BYTES": "11"}
    assert load_workspace_config(RagConfig, work, environ=env).index.max_file_bytes == 11
    assert load_workspace_config(RagConfig, work, environ={}).embedding.device == "cpu"

    xdg = tmp_path / "xdg" / "mochi" / "config.toml"
    xdg.parent.mkdir(parents=True)
    xdg.write_text('[store]\nbackend = "qdrant"\nurl = "http://q:6333"\n')
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config = load_workspace_config(RagConfig, work, environ=env)
    assert (config.store.backend, config.embedding.device) == ("qdrant", "cpu")


def test_a_mistake_in_the_user_file_names_that_file(tmp_path: Path) -> None:
    user = tmp_path / "mochi" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[index]\nmax_commits = 'many'\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"index\.max_commits.*\(in .*mochi/config\.toml\)"):
        load_workspace_config(RagConfig, tmp_path, environ=env)
    user.write_text("[index\n")
    with pytest.raises(ConfigError, match=r"config\.toml.*not valid TOML"):
        load_workspace_config(RagConfig, tmp_path, environ=env)
