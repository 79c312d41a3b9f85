"""llmgps/dropout.py: Philox, masks, block and sweep against the CLI."""

import json
import os
import subprocess

import numpy as np
import pytest

import llmgps
from llmgps import dropout


def test_philox_known_answers():
    words = dropout.philox(count=3)
    assert words.dtype == np.uint32 and words.shape == (3, 4)
    # Random123's known-answer test for Philox4x32-10, key 0, counter 0.
    assert list(words[0]) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def test_philox_words_are_integers():
    # A float key word would be truncated into another key: refused, as are out-of-range ones.
    for key in ((1.7, 0), (True, 0), (2**32, 0), (1,)):
        with pytest.raises(llmgps.InputError) as e:
            dropout.philox(key=key)
        assert e.value.where == "key"
    assert (dropout.philox(key=np.array([1, 2], dtype=np.uint32)) == dropout.philox(key=(1, 2))).all()


def test_philox_lines_match_the_cli(source):
    binary = os.environ.get("LLMGPS_BINARY") or str(source / "build" / "llmgps")
    if not os.path.exists(binary):
        pytest.skip("no CLI binary")
    out = subprocess.run([binary, "philox", "--rounds", "7", "--key", "1,2", "--counter",
                          "3,4,5,6", "--count", "5"], capture_output=True, text=True, check=True)
    expect = [[int(w, 16) for w in line.split()] for line in out.stdout.split("\n") if line]
    got = dropout.philox(count=5, key=(1, 2), counter=(3, 4, 5, 6), rounds=7)
    assert got.tolist() == expect


def test_mask_is_the_file_the_cli_writes(tmp_path, source):
    binary = os.environ.get("LLMGPS_BINARY") or str(source / "build" / "llmgps")
    if not os.path.exists(binary):
        pytest.skip("no CLI binary")
    path = tmp_path / "mask.bin"
    out = subprocess.run([binary, "dropout", "mask", "--seed", "42", "--batch", "2", "--heads",
                          "4", "--seq", "96", "--seq-k", "160", "--p", "0.2", "--file", str(path),
                          "--format", "json"], capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    m = dropout.mask(42, 2, 4, 96, p=0.2, seq_k=160)
    assert m.words.dtype == np.uint32
    assert m.words.tobytes() == path.read_bytes()
    for key in ("elements", "bytes", "keep_threshold", "keep_fraction", "expected_keep_fraction"):
        assert m[key] == summary[key], key
    assert m.keep_fraction == pytest.approx(0.8, abs=0.01)


def test_block_and_sweep_are_the_clis(cli):
    b = dropout.block("llama3-8b", "h100-sxm5", batch=1, seq=8192, scope="fwd")
    assert b.to_dict() == cli("dropout", "block", "--model", "llama3-8b", "--hw", "h100-sxm5",
                              "--batch", 1, "--seq", 8192, "--scope", "fwd")
    assert b.records() and all("way" in r for r in b.records())
    s = dropout.sweep("llama2-7b", "h100-sxm5", seqs=[1024, 2048], batches=[1, 4], bits=8,
                      rounds=7)
    assert s.to_dict() == cli("dropout", "sweep", "--model", "llama2-7b", "--hw", "h100-sxm5",
                              "--seqs", "1024,2048", "--batches", "1,4", "--bits", 8, "--rounds",
                              7)
    assert [(r["batch"], r["seq"]) for r in s.records()] == [(1, 1024), (1, 2048), (4, 1024),
                                                             (4, 2048)]


@pytest.mark.parametrize("call, where", [
    (lambda: dropout.mask(1, 1, 1, 64, p=1.5), "p"),
    (lambda: dropout.mask(-1, 1, 1, 64), "seed"),
    (lambda: dropout.mask(1, 1, 1, 64, bits=16), "bits"),
    (lambda: dropout.philox(count=2, key=(1,)), "key"),
    (lambda: dropout.block("mixtral-8x7b-no", "h100-sxm5"), "model"),
    (lambda: dropout.block("llama3-8b", "h100-sxm5", scope="sometimes"), "scope"),
])
def test_bad_input(call, where):
    with pytest.raises(llmgps.InputError) as e:
        call()
    assert e.value.where == where
