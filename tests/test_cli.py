import subprocess
import sys

import pytest

from seglab.cli import main


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "collect", "datasets", "sample"):
        assert command in out


def test_run_help_lists_notebook_parameters(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "--compare-to" in out and "policies" in out and "quality policy per check" in out


def test_datasets_lists_names_and_periods(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "online_retail" in out and "2009Q4 … 2011Q3" in out and "all (no dates" in out


def test_sample_writes_data_and_a_spec(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path / "s"), "--customers", "100", "--seed", "3"]) == 0
    assert (tmp_path / "s" / "dataset.yaml").exists() and "seglab run --dataset" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["collect", "--dataset", "nonesuch"], "unknown dataset 'nonesuch'"),
    (["collect", "--period", "2031Q1"], "has no data"),
    (["collect", "--period", "soon"], "cannot read period"),
])
def test_bad_input_exits_2_with_a_message_and_no_traceback(argv, message):
    done = subprocess.run([sys.executable, "-m", "seglab.cli", *argv], capture_output=True, text=True)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.startswith("seglab: error:")


def test_unknown_config_parameter_is_refused(tmp_path, capsys):
    config = tmp_path / "params.yaml"
    config.write_text("polices: {}\n")
    assert main(["collect", "--config", str(config), "--out", str(tmp_path)]) == 2
    assert "did you mean 'policies'" in capsys.readouterr().err
