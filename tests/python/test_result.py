"""llmgps/_result.py: attribute access, to_dict copies, records flatten."""

import pytest

from llmgps._result import Result, Rows, flatten, rows_result


def test_flatten_joins_nested_keys_and_keeps_lists():
    assert flatten({"a": 1, "b": {"c": 2, "d": {"e": [3]}}}) == {"a": 1, "b.c": 2, "b.d.e": [3]}


def test_fields_and_copies():
    r = Result({"x": 1, "y": {"z": 2}})
    assert r.x == 1 and r["y"] == {"z": 2} and "x" in r and r.keys() == ["x", "y"]
    d = r.to_dict()
    d["y"]["z"] = 99
    assert r.y["z"] == 2
    with pytest.raises(TypeError):
        r.records()


def test_rows_results_repeat_their_context():
    T = rows_result("T", "rows", ("model",))
    t = T({"model": "m", "other": 5, "rows": [{"a": 1, "b": {"c": 2}}, {"a": 3, "b": {"c": 4}}]})
    assert t.records() == [{"model": "m", "a": 1, "b.c": 2}, {"model": "m", "a": 3, "b.c": 4}]


def test_rows_list():
    r = Rows([{"name": "a"}, {"name": "b"}])
    assert len(r) == 2 and [x["name"] for x in r] == ["a", "b"]
    assert r.records() == [{"name": "a"}, {"name": "b"}]


def test_results_copy_and_pickle_as_themselves():
    # copy and pickle (multiprocessing returns results through it) rebuild the same result.
    import copy
    import pickle
    import llmgps
    for r in (llmgps.cost.gemm("h100-sxm5", 128, 128, 128), llmgps.hw_list(),
              llmgps.dropout.mask(1, 1, 1, 64),
              llmgps.estimate_sweep("llama3-8b", "h100-sxm5", batches=[1, 2], seqs=128),
              llmgps.moe.map("mixtral-8x7b", "4x-a100-nvlink3", 1.2, links=300)):
        for twin in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
            assert type(twin) is type(r)
            assert twin.to_dict() == r.to_dict()


def test_a_list_result_shows_its_length():
    assert repr(Rows([{"a": 1}, {"a": 2}])) == "Rows(2 items)"
    assert repr(Result({"x": 1, "y": [2]})) == "Result(x=1, ...)"
