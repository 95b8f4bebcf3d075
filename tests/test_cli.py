"""The command line as DESIGN.md writes it: outputs, exit status, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from insights import synthetic
from insights.cli import main


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--scenario", "small", "--seed", "3", "--out", str(out)]) == 0
    return out


def test_simulate_writes_the_tables_and_truth(sim_dir):
    for name in ("labels.csv", "gold.csv", "annotators.csv", "items.csv"):
        assert (sim_dir / name).stat().st_size > 0
    sim = synthetic.simulate("small", seed=3)
    labels = pd.read_csv(sim_dir / "labels.csv", dtype=str)
    assert len(labels) == len(sim.labels)


def test_validate_ok(sim_dir, capsys):
    assert main(["validate", str(sim_dir)]) == 0
    out = capsys.readouterr().out
    assert "ok:" in out and "fingerprint: sha256:" in out


def test_validate_reports_one_line_reason(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("item_id,annotator_id,label\ni1,a1,ok\ni2,,ok\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "row 2" in err and "annotator_id" in err


def test_validate_declared_label_set(sim_dir, capsys):
    assert main(["validate", str(sim_dir), "--label-set", "ok,spam"]) == 1
    assert "not in the label set" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["majority", "dawid-skene", "hierarchical", None])
def test_aggregate_output_contract(sim_dir, tmp_path, method):
    out = tmp_path / "agg.csv"
    args = ["aggregate", str(sim_dir), "--out", str(out)]
    if method:
        args += ["--method", method]
    assert main(args) == 0
    table = pd.read_csv(out, dtype={"item_id": str, "label": str})
    pcols = [c for c in table.columns if c.startswith("p_")]
    assert list(table.columns[:3]) == ["item_id", "label", "confidence"] and pcols
    np.testing.assert_allclose(table[pcols].sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(table["confidence"], table[pcols].max(axis=1))
    truth = pd.read_csv(sim_dir / "truth_labels.csv", dtype=str).set_index("item_id")["label"]
    acc = (table.set_index("item_id")["label"] == truth.reindex(table["item_id"]).to_numpy()).mean()
    assert acc > 0.8   # small scenario, 1-5 labels per item from mostly competent annotators


def test_aggregate_default_says_which_model_and_why(sim_dir, tmp_path, capsys):
    from insights import reliability
    from insights.reliability.auto import default_candidates

    out = tmp_path / "agg.csv"
    assert main(["aggregate", str(sim_dir), "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    why = [line for line in err if line.startswith(f"{reliability.RECOMMENDED}: Chose ")]
    assert len(why) == 1, err
    chosen = why[0].split("Chose ", 1)[1].split(":", 1)[0].split(" ", 1)[0]
    assert chosen in default_candidates()
    table = pd.read_csv(out, dtype={"item_id": str})
    assert set(table["model"]) == {chosen}
    assert any(line.endswith(f"inferred by {chosen}") for line in err)


def test_aggregate_class_skewed_gold(tmp_path, capsys):
    from tests.reliability.test_auto import _simulate_skewed_gold

    labels, _, gold = _simulate_skewed_gold(2)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    gold.to_csv(tmp_path / "gold.csv", index=False)
    args = ["aggregate", str(tmp_path / "labels.csv"), "--gold", str(tmp_path / "gold.csv")]
    assert main([*args, "--gold-sample", "class-skewed", "--out", str(tmp_path / "a.csv")]) == 0
    err = capsys.readouterr().err
    assert "weighted to the log's class mix: the gold has 34% 2" in err
    # only auto chooses a model by the gold: with another method the option is an error
    assert main([*args, "--gold-sample", "class-skewed", "--method", "mace", "--out",
                 str(tmp_path / "b.csv")]) == 1
    assert "--gold-sample class-skewed" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()


def test_aggregate_verbose_logs_each_phase_with_its_time(sim_dir, tmp_path):
    out = tmp_path / "agg.parquet"
    proc = subprocess.run([sys.executable, "-m", "insights", "aggregate", str(sim_dir), "--out",
                           str(out), "--method", "dawid-skene", "-v"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    logged = [line for line in proc.stderr.splitlines() if " insights." in line]
    for phase in ("read labels", "validated and encoded labels", "fitted dawid-skene",
                  "wrote "):
        assert any(phase in line and line.endswith(" s") for line in logged), logged


def test_aggregate_parquet_and_unknown_method(sim_dir, tmp_path, capsys):
    assert main(["aggregate", str(sim_dir), "--out", str(tmp_path / "a.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "a.parquet")) > 0
    assert main(["aggregate", str(sim_dir), "--method", "nope", "--out",
                 str(tmp_path / "b.csv")]) == 1
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()


def test_annotators_table(sim_dir, tmp_path):
    out = tmp_path / "ann.csv"
    assert main(["annotators", str(sim_dir), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    for col in ("annotator_id", "team", "market", "n_labels", "accuracy_gold", "quality"):
        assert col in table.columns
    assert table["n_labels"].sum() == len(pd.read_csv(sim_dir / "labels.csv"))


def test_module_entry_point_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "insights", "validate", str(tmp_path / "none")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_fresh_process_allocators_and_the_users_choice():
    """A command's process uses 4 KiB pages (no huge-page arenas) unless the user chose."""
    code = ("from insights.cli import configure_allocators as c; applied = c(); "
            "import numpy, pyarrow; print(applied, pyarrow.default_memory_pool().backend_name, "
            "numpy._core.multiarray._get_madvise_hugepage())")
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARROW_DEFAULT_MEMORY_POOL", "NUMPY_MADVISE_HUGEPAGE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert out == ["True", "system", "False"]
    env["NUMPY_MADVISE_HUGEPAGE"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert out == ["True", "system", "True"]


def test_allocators_left_alone_once_numpy_is_imported():
    from insights.cli import configure_allocators

    assert configure_allocators() is False  # this test process imported numpy first


def test_trends_findings_table(tmp_path):
    sim_dir = tmp_path / "default"
    assert main(["simulate", "--seed", "1", "--out", str(sim_dir)]) == 0
    out = tmp_path / "findings.csv"
    assert main(["trends", str(sim_dir), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    for col in ("p", "q", "sentence"):
        assert col in table.columns
    assert (table["q"] <= 0.05).all()
    # the default scenario plants an accuracy drop for team DE-T2
    assert table["sentence"].str.contains("DE-T2").any()


def test_trends_without_gold_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text(
        "item_id,annotator_id,label,labeled_at\ni1,a1,ok,2026-03-02T10:00:00Z\n")
    assert main(["trends", str(tmp_path), "--out", str(tmp_path / "f.csv")]) == 1
    assert "gold" in capsys.readouterr().err


# -- the user's own log, repeats, gold, and one located line for every bad input -------------
OWN_LOG = "item,worker,answer\ni1,w1,ok\ni1,w2,ok\ni1,w1,spam\ni2,w1,spam\ni2,w2,spam\ni3,w2,ok\n"
OWN_MAP = "item_id=item,annotator_id=worker,label=answer"


@pytest.fixture
def own_log(tmp_path):
    (tmp_path / "labels.csv").write_text(OWN_LOG)
    (tmp_path / "gold.csv").write_text("item,answer\ni2,spam\nzz,ok\n")
    return tmp_path


def one_line(text: str) -> str:
    text = text.strip()
    assert text.count("\n") == 0, text
    return text


def test_aggregate_own_columns_repeats_and_from_gold(own_log, capsys):
    out = own_log / "out" / "agg.csv"
    assert main(["aggregate", str(own_log), "--columns", OWN_MAP, "--method", "majority",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    table = pd.read_csv(out, dtype={"item_id": str})
    assert table["from_gold"].tolist() == [False, True, False]   # only i2 has gold
    assert any("1 of 3 items took their label from gold" in line for line in err)
    assert any(line.startswith("warning: labels.csv: 1 repeated judgment") for line in err)
    assert any(line.startswith("warning: gold.csv: 1 gold answer(s) for items nobody labeled")
               for line in err)
    assert all(line.startswith(("warning: ", "1 of 3")) for line in err)


def test_repeats_error_and_last(own_log, capsys):
    args = ["aggregate", str(own_log), "--columns", OWN_MAP, "--method", "majority"]
    assert main([*args, "--repeats", "error", "--out", str(own_log / "a.csv")]) == 1
    err = one_line(capsys.readouterr().err)
    assert "labels.csv row 3: annotator 'w1' judged item 'i1'" in err
    assert main([*args, "--repeats", "last", "--out", str(own_log / "a.csv")]) == 0
    table = pd.read_csv(own_log / "a.csv").set_index("item_id")
    assert table.loc["i1", "p_spam"] == 0.5     # w1's last answer (spam) against w2's ok


def test_validate_reports_the_repeats(own_log, capsys):
    assert main(["validate", str(own_log / "labels.csv"), "--columns", OWN_MAP]) == 0
    out = capsys.readouterr().out
    assert "repeats: 1 repeated judgment(s) with a different answer on 1 (item, annotator)" in out


def test_out_equal_to_an_input_is_refused(own_log, capsys):
    labels = own_log / "labels.csv"
    before = labels.read_bytes()
    assert main(["aggregate", str(labels), "--columns", OWN_MAP, "--out", str(labels)]) == 1
    assert "is an input of this command" in one_line(capsys.readouterr().err)
    assert labels.read_bytes() == before


def test_unwritable_out(own_log, capsys):
    assert main(["aggregate", str(own_log), "--columns", OWN_MAP, "--out",
                 str(own_log / "labels.csv" / "x.csv")]) == 1
    assert "is a file, not a directory" in one_line(capsys.readouterr().err)
    locked = own_log / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions: the check above covers it
        return
    assert main(["aggregate", str(own_log), "--columns", OWN_MAP, "--out",
                 str(locked / "x.csv")]) == 1
    assert "permission denied" in one_line(capsys.readouterr().err)


def test_gold_pointing_at_a_folder(own_log, capsys):
    assert main(["aggregate", str(own_log / "labels.csv"), "--columns", OWN_MAP, "--gold",
                 str(own_log), "--out", str(own_log / "a.csv")]) == 1
    assert "is a directory; expected a gold file" in one_line(capsys.readouterr().err)


def test_q_outside_zero_one(tmp_path, capsys):
    for q in ("0", "1.5", "-0.1"):
        assert main(["trends", str(tmp_path), "--q", q, "--out", str(tmp_path / "f.csv")]) == 1
        assert "strictly between 0 and 1" in one_line(capsys.readouterr().err)


def test_label_set_is_stripped(own_log, capsys):
    assert main(["validate", str(own_log), "--columns", OWN_MAP, "--label-set",
                 "ok, spam"]) == 0
    assert "labels ['ok', 'spam']" in capsys.readouterr().out


def test_non_utf8_names_line_offset_and_option(tmp_path, capsys):
    (tmp_path / "labels.csv").write_bytes(b"item_id,annotator_id,label\ni1,a1,caf\xe9\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = one_line(capsys.readouterr().err)
    assert "labels.csv line 2, byte offset 36" in err and "--encoding" in err
    assert main(["validate", str(tmp_path), "--encoding", "latin-1"]) == 0


def test_bad_columns_syntax_and_key(own_log, capsys):
    assert main(["validate", str(own_log), "--columns", "item_id"]) == 1
    assert "CONTRACT=YOURS" in one_line(capsys.readouterr().err)
    assert main(["validate", str(own_log), "--columns", "itemid=item"]) == 1
    assert "did you mean 'item_id'" in one_line(capsys.readouterr().err)


def test_broken_pipe_is_quiet(sim_dir):
    proc = subprocess.run(
        f"{sys.executable} -m insights validate {sim_dir} | head -c 1",
        shell=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_python_warnings_are_one_line(own_log, capsys):
    import warnings

    from insights.cli import _one_line_warning

    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        warnings.warn("two\nlines", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "warning: two lines\n"


def test_broken_pipe_in_process_returns_quietly(sim_dir, monkeypatch, capsys):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["validate", str(sim_dir)]) == 141
    assert capsys.readouterr().err == ""
