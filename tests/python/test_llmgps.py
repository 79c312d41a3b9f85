"""llmgps/__init__.py: specs, estimate (and its sweep), validate, calibrate, against the CLI."""

import pickle

import pytest

import llmgps


def test_estimate_is_the_clis_json(cli):
    r = llmgps.estimate(model="mixtral-8x7b", system="4x-a100-nvlink3", batch=1, seq=512,
                        phase="prefill", dtype="fp16")
    j = cli("estimate", "--model", "mixtral-8x7b", "--system", "4x-a100-nvlink3", "--batch", 1,
            "--seq", 512, "--phase", "prefill", "--dtype", "fp16")
    assert r.total_s == j["total_s"]  # the same double, not merely close
    assert r.to_dict() == j


def test_estimate_decode_layout_and_tp_reach_the_core(cli):
    r = llmgps.estimate("olmoe-1b-7b", "8x-h100-nvlink4", batch=16, seq=2048,
                        phase="decode", dtype="bf16", layout="dp-a2a")
    j = cli("estimate", "--model", "olmoe-1b-7b", "--system", "8x-h100-nvlink4", "--batch",
            16, "--seq", 2048, "--phase", "decode", "--dtype", "bf16", "--layout", "dp-a2a")
    assert r.to_dict() == j
    assert r.moe_layout == "dp-a2a" and r.phase == "decode"
    agrs = llmgps.estimate("olmoe-1b-7b", "8x-h100-nvlink4", batch=16, seq=2048,
                           phase="decode", dtype="bf16", layout="dp-agrs")
    assert agrs.moe_layout == "dp-agrs"
    assert agrs.to_dict() == cli("estimate", "--model", "olmoe-1b-7b", "--system",
                                 "8x-h100-nvlink4", "--batch", 16, "--seq", 2048, "--phase",
                                 "decode", "--dtype", "bf16", "--layout", "dp-agrs")


def test_cuda_graphs_reach_estimate_its_sweep_and_advise(cli):
    args = dict(batch=8, seq=2048, phase="decode")
    r = llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", cuda_graphs=True, **args)
    j = cli("estimate", "--model", "mixtral-8x7b", "--system", "4x-a100-nvlink3", "--batch", 8,
            "--seq", 2048, "--phase", "decode", "--cuda-graphs")
    assert r.to_dict() == j and r.cuda_graphs is True
    eager = llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", **args)
    assert eager.cuda_graphs is False and r.total_s < eager.total_s
    sweep = llmgps.estimate_sweep("mixtral-8x7b", "4x-a100-nvlink3", batches=[8], seqs=[2048],
                                  phase="decode", cuda_graphs=True)
    assert sweep.records()[0]["total_s"] == r.total_s
    a = llmgps.moe.advise("mixtral-8x7b", "4x-a100-nvlink3", skew=1.39, cuda_graphs=True)
    assert a.cuda_graphs is True
    assert a.to_dict() == cli("moe", "advise", "--model", "mixtral-8x7b", "--system",
                              "4x-a100-nvlink3", "--skew", 1.39, "--cuda-graphs")


def test_estimate_records_are_the_ops_with_their_context():
    r = llmgps.estimate("llama3-8b", "h100-sxm5", batch=2, seq=1024, dtype="bf16")
    rows = r.records()
    assert len(rows) == len(r.ops) and rows
    assert all(row["model"] == "llama3-8b" and row["batch"] == 2 for row in rows)
    # Op times times their counts add up to the step.
    assert sum(row["total_s"] for row in rows) == pytest.approx(r.total_s, rel=1e-9)


def test_estimate_takes_a_config_dict_like_its_preset():
    spec = llmgps.model("llama2-7b").to_dict()
    config = {"model_type": "llama", "hidden_size": spec["hidden_size"],
              "num_hidden_layers": spec["layers"], "num_attention_heads": spec["num_heads"],
              "num_key_value_heads": spec["num_kv_heads"], "intermediate_size": spec["ffn_dim"],
              "vocab_size": spec["vocab_size"]}
    a = llmgps.estimate(config, "a100-sxm4-80g", batch=1, seq=256)
    b = llmgps.estimate("llama2-7b", "a100-sxm4-80g", batch=1, seq=256)
    assert a.total_s == pytest.approx(b.total_s, rel=1e-12)


def test_estimate_sweep_goes_into_pandas():
    pd = pytest.importorskip("pandas")
    sweep = llmgps.estimate_sweep("mixtral-8x7b", "4x-a100-nvlink3", batches=[1, 4],
                                  seqs=[256, 512, 1024])
    df = pd.DataFrame(sweep.records())
    assert list(df["batch"]) == [1, 1, 1, 4, 4, 4]
    assert list(df["seq"]) == [256, 512, 1024] * 2
    assert "time_by_bound_s.hbm" in df.columns
    one = llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", batch=4, seq=512)
    assert df.loc[(df.batch == 4) & (df.seq == 512), "total_s"].item() == one.total_s
    # More tokens never take less time on the same system.
    for _, g in df.groupby("batch"):
        assert g["total_s"].is_monotonic_increasing


def test_specs_are_the_clis(cli):
    assert llmgps.hw("h100-sxm5").to_dict() == cli("hw", "show", "h100-sxm5")
    assert llmgps.model("mixtral-8x7b").to_dict() == cli("model", "show", "mixtral-8x7b")
    assert llmgps.hw_list().to_dict() == cli("hw", "list")
    assert llmgps.model_list().to_dict() == cli("model", "list")
    names = [row["name"] for row in llmgps.hw_list().records()]
    assert "h800-sxm5" in names and "8x-h100-nvlink4" in names


def test_validate_and_its_loso_are_the_clis(cli, source):
    table = source / "data" / "measurements" / "public-gemm.csv"
    assert llmgps.validate(table).to_dict() == cli("validate", "--measurements", table)
    loso = llmgps.validate(table, loso="hopper-gemm")
    assert loso.to_dict() == cli("validate", "--measurements", table, "--loso", "hopper-gemm")
    assert len(loso.records()) == len(loso.held_out) > 1
    classes = {r["class"]: r for r in llmgps.validate(table).records()}
    assert classes["gemm-h100-sxm5"]["n"] > 10


def test_calibrate_is_the_clis(cli, shared):
    data = shared / "data" / "calibration-a100"
    assert llmgps.calibrate(data).to_dict() == cli("calibrate", "--data", data)


@pytest.mark.parametrize("call, where", [
    (lambda: llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", batch=-1), "batch"),
    (lambda: llmgps.estimate("no-such-model", "4x-a100-nvlink3"), "model"),
    (lambda: llmgps.estimate("mixtral-8x7b", "no-such-system"), "system"),
    (lambda: llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", phase="both"), "phase"),
    (lambda: llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", batch=2.5), "batch"),
    (lambda: llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", seq=2**70), "seq"),
    (lambda: llmgps.hw("no-such-gpu"), "name_or_path"),
    (lambda: llmgps.model({"model_type": "llama"}), "model"),
    (lambda: llmgps.validate("/no/such/table.csv"), "/no/such/table.csv"),
])
def test_bad_input_raises_input_error_naming_the_argument(call, where):
    with pytest.raises(llmgps.InputError) as e:
        call()
    assert isinstance(e.value, ValueError)
    assert e.value.where.startswith(where) or where in str(e.value)
    assert str(e.value) == f"{e.value.where}: {e.value.reason}"


def test_input_errors_word_the_reason_as_the_cli_does(cli_error):
    line = cli_error("estimate", "--model", "mixtral-8x7b", "--system", "4x-a100-nvlink3",
                     "--batch", "-3")
    with pytest.raises(llmgps.InputError) as e:
        llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3", batch=-3)
    assert line == f"llmgps: error: --batch: {e.value.reason}"


def test_results_are_read_only_and_pickle_errors():
    r = llmgps.estimate("llama3-8b", "h100-sxm5")
    with pytest.raises(AttributeError):
        r.total_s = 0
    with pytest.raises(AttributeError, match="no field"):
        r.no_such_field
    e = pickle.loads(pickle.dumps(llmgps.InputError("batch", "must be positive")))
    assert (e.where, e.reason) == ("batch", "must be positive")


def test_help_and_docstrings():
    for fn in (llmgps.estimate, llmgps.hw, llmgps.model, llmgps.validate, llmgps.cost.gemm,
               llmgps.moe.advise, llmgps.moe.plan, llmgps.dropout.block, llmgps.dropout.mask,
               llmgps.eplb.rebalance_experts):
        assert fn.__doc__ and len(fn.__doc__) > 60, fn
    assert "estimate" in llmgps.__doc__


def test_the_api_reference_is_generated_from_these_docstrings(source):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, str(source / "scripts" / "python-api-doc"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_the_readme_quick_start_runs():
    r = llmgps.estimate(model="mixtral-8x7b", system="4x-a100-nvlink3", batch=1, seq=512,
                        phase="prefill", dtype="fp16")
    assert r.total_s > 0 and "hbm" in r.time_by_bound_s
    plan = llmgps.moe.plan([[90, 10, 10, 10, 5, 5, 5, 5]], gpus=4, slots_per_gpu=3)
    assert 0 < plan.balancedness <= 1 and len(plan.phy2log[0]) == 12


def test_estimate_reports_memory_and_warns_when_it_does_not_fit(cli):
    r = llmgps.estimate("mixtral-8x7b", "4x-a100-nvlink3")
    assert r.memory["fits"] and r.memory["max_batch"] > 1
    assert r.memory == cli(*"estimate --model mixtral-8x7b --system 4x-a100-nvlink3".split())["memory"]
    with pytest.warns(llmgps.MemoryWarning, match="memory: needs"):
        big = llmgps.estimate("llama3-70b", "h100-sxm5", batch=512, seq=131072, phase="decode")
    assert not big.memory["fits"] and big.memory["kv_cache_bytes"] > 2e13
    with pytest.raises(llmgps.InputError) as e:
        llmgps.estimate("mixtral-8x7b", "a100-sxm4-80g", strict=True)
    assert e.value.where == "memory"
    with pytest.raises(llmgps.InputError):
        llmgps.estimate("llama3-8b", "h100-sxm5", memory_fraction=1.5)


def test_estimate_serve_matches_the_cli(cli):
    r = llmgps.estimate("llama3-8b", "h100-sxm5", phase="serve", prompt=2048, output=256)
    j = cli(*("estimate --model llama3-8b --system h100-sxm5 --phase serve --prompt 2048 "
              "--output 256").split())
    assert r.serve == j["serve"] and r.phase == "serve"
    assert r.serve["ttft_s"] > r.serve["tpot_mean_s"] > 0
    with pytest.raises(llmgps.InputError) as e:
        llmgps.estimate("llama3-8b", "h100-sxm5", phase="serve", prompt=16)
    assert e.value.where == "output"  # the Python argument, as the CLI names --output


def test_advise_reports_memory_and_strict_refuses():
    with pytest.raises(llmgps.InputError):
        llmgps.moe.advise("deepseek-v3", "8x-h100-nvlink4", skew=1.5, dtype="bf16", strict=True)
    a = llmgps.moe.advise("mixtral-8x7b", "4x-a100-nvlink3", skew=1.5)
    assert a.memory["fits"] and a.memory["expert_replica_bytes"] > 0


def test_estimate_sweep_over_models_and_systems_matches_the_cli(cli):
    r = llmgps.estimate_sweep(models=["llama3-8b", "mixtral-8x7b"],
                              systems=["h100-sxm5", "8x-h100-nvlink4"], batches=[1, 8],
                              phases=["decode"], seqs=[2048])
    rows = r.records()
    assert len(rows) == 8 and rows[0]["model"] == "llama3-8b" and rows[-1]["batch"] == 8
    j = cli(*("estimate --models llama3-8b,mixtral-8x7b --systems h100-sxm5,8x-h100-nvlink4 "
              "--batches 1,8 --phases decode --seqs 2048").split())
    assert r.to_dict() == j
    assert {row["memory_fits"] for row in rows} == {True, False}  # Mixtral on one H100
    svg = llmgps.estimate_sweep("llama3-8b", "h100-sxm5", batches=[1, 4, 16], svg=True)
    assert svg.startswith("<svg") and "Throughput vs batch" in svg
    with pytest.raises(llmgps.InputError):
        llmgps.estimate_sweep(models=[], system="h100-sxm5")


def test_dropout_sweep_over_dtypes_and_its_figure():
    s = llmgps.dropout.sweep("llama3-8b", "h100-sxm5", seqs=[1024], batches=[1],
                             dtypes=["bf16", "fp8"])
    assert [row["dtype"] for row in s.records()] == ["bf16", "fp8"]
    svg = llmgps.dropout.sweep("llama3-8b", "h100-sxm5", seqs=[1024, 2048], batches=[1],
                               svg=True)
    assert svg.startswith("<svg") and "speedup" in svg


def test_sweep_takes_a_model_dict_and_memory_warnings_point_at_the_caller():
    cfg = llmgps.model("llama3-8b").to_dict()
    hf = {"_name_or_path": "meta/Tiny", "num_hidden_layers": 2, "hidden_size": 256,
          "intermediate_size": 512, "num_attention_heads": 4, "num_key_value_heads": 2,
          "vocab_size": 1000, "model_type": "llama"}
    r = llmgps.estimate_sweep(models=[hf, "llama3-8b"], system="h100-sxm5", batches=[1])
    assert [row["model"] for row in r.records()] == ["Tiny", "llama3-8b"]
    assert cfg["name"] == "llama3-8b"
    with pytest.warns(llmgps.MemoryWarning) as caught:
        llmgps.estimate("mixtral-8x7b", "a100-sxm4-80g")
    assert caught[0].filename == __file__


def test_list_arguments_take_one_value_as_a_list_of_one():
    # A single batch, model or phase is one item, never split into characters or digits; what
    # is not an item of the right type is an InputError naming the argument.
    one = llmgps.estimate_sweep(models="llama3-8b", systems="h100-sxm5", batches=8, seqs=128)
    assert one.to_dict() == llmgps.estimate_sweep(models=["llama3-8b"], systems=["h100-sxm5"],
                                                  batches=[8], seqs=[128]).to_dict()
    assert len(llmgps.dropout.sweep("llama3-8b", "h100-sxm5", seqs=1024, batches=1,
                                    models="llama3-8b").records()) == 1
    for bad in (b"x", None, [1.5]):
        with pytest.raises(llmgps.InputError) as e:
            llmgps.estimate_sweep("llama3-8b", "h100-sxm5", batches=bad)
        assert e.value.where == "batches"


def test_seeds_span_64_unsigned_bits_as_on_the_command_line():
    top = llmgps.dropout.mask(2**64 - 1, 1, 1, 64)
    assert top.keep_fraction > 0
    with pytest.raises(llmgps.InputError) as e:
        llmgps.dropout.mask(2**64, 1, 1, 64)
    assert e.value.where == "seed"


def test_a_bad_model_dict_is_named_as_the_argument_not_its_temporary_file():
    import json
    import pathlib
    cfg = json.loads((pathlib.Path(__file__).parents[2] / "data/models/mixtral-8x7b.json").read_text())
    del cfg["hidden_size"]
    with pytest.raises(llmgps.InputError) as e:
        llmgps.estimate(cfg, "h100-sxm5")
    assert e.value.where == "model: field 'hidden_size'"
