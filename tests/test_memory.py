"""Arena plans: the TFLM-equivalent plan equals TFLM's recorded head on every zoo model, and the
improved plan is valid and never larger. Prints the figures table (run with -s to see it)."""

from __future__ import annotations

import dataclasses

import pytest

from tinyc import zoo
from tinyc.analyze import memory
from tinyc.model import graph, ops, reference


@pytest.fixture(scope="module")
def zoo_paths():
    return zoo.build_all()


def test_tflm_equivalent_plan_equals_recorded_head_on_every_zoo_model(zoo_paths):
    rows, mismatches = [], []
    for name in zoo.names():
        g = graph.load(zoo_paths[name])
        rec = reference.arena_record(zoo_paths[name])
        tflm, improved = memory.plan_tflm(g), memory.plan_improved(g)
        memory.validate(tflm)
        memory.validate(improved)
        assert improved.peak_live_bytes <= improved.arena_size  # no plan beats the live bytes at its peak
        rows.append((name, rec.head, rec.total, tflm.arena_size, improved.arena_size, improved.peak_live_bytes))
        if rec.head != tflm.head:  # variable tensors (LSTM state) sit in TFLM's persistent tail
            mismatches.append((name, rec.head, tflm.arena_size))
        assert improved.arena_size <= tflm.arena_size, name
    print("\nmodel                  TFLM head  TFLM total  tinyc TFLM-equiv  tinyc improved  saved  lower bound")
    for name, head, total, eq, imp, low in rows:
        print(f"{name:22s} {head:9d} {total:11d} {eq:17d} {imp:15d} {head - imp:6d} {low:12d}")
    assert not mismatches, mismatches


def test_reshape_aliases_its_input(zoo_paths):
    g = graph.load(zoo_paths["reshape"])
    (reshape,) = [o for o in g.operators if o.op == "RESHAPE"]
    plan = memory.plan_improved(g)
    memory.validate(plan)
    assert plan.offset_of(reshape.inputs[0]) == plan.offset_of(reshape.outputs[0])
    assert plan.arena_size < memory.plan_tflm(g).arena_size


def test_planner_reads_inplace_rules_from_the_op_table(zoo_paths):
    g = graph.load(zoo_paths["relu"])
    rules = dict(ops.OP_RULES)
    rules["RELU"] = dataclasses.replace(rules["RELU"], inplace=None, inplace_input=None)
    base = memory.plan_improved(g, rules=rules)
    rules["RELU"] = dataclasses.replace(rules["RELU"], inplace_input=0)
    inplace = memory.plan_improved(g, rules=rules)
    memory.validate(inplace)
    (op,) = g.operators
    assert base.offset_of(op.inputs[0]) != base.offset_of(op.outputs[0])
    assert inplace.offset_of(op.inputs[0]) == inplace.offset_of(op.outputs[0])
    assert inplace.arena_size == memory.align(g.tensor(op.outputs[0]).nbytes) < base.arena_size
    # the shipped table declares the runtime's in-place kernels (tests/test_inplace.py)
    assert {n for n, r in ops.OP_RULES.items() if r.inplace} == {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL",
                                                                   "RELU", "RELU6"}


def test_inplace_never_clobbers_a_live_input(zoo_paths):
    """ADD in place on ResNet-8: the residual input is still needed, so only a dead input may be reused."""
    g = graph.load(zoo_paths["ic_resnet8"])
    rules = dict(ops.OP_RULES)
    for name in ("ADD", "CONV_2D"):
        rules[name] = dataclasses.replace(rules[name], inplace_input=0)
    plan = memory.plan_improved(g, rules=rules)
    memory.validate(plan)
    offsets = plan.tensor_offsets()
    for step, oi in enumerate(plan.order):
        op = g.operators[oi]
        out = op.outputs[0]
        for t in op.inputs:
            if t >= 0 and t in offsets and offsets[t] == offsets[out]:
                later = [g.operators[j] for j in plan.order[step + 1:]]
                assert not any(t in o.inputs for o in later), f"op {oi} overwrites tensor {t} still read later"


def test_execution_order_search_on_branching_graph(zoo_paths):
    g = graph.load(zoo_paths["branchy"])
    orders = memory.execution_orders(g)
    assert len(orders) > 1 and orders[0] == tuple(range(len(g.operators)))
    orders.append(memory.greedy_order(g))
    assert sorted(orders[-1]) == list(range(len(g.operators)))
    prod = {t: o.index for o in g.operators for t in o.outputs}
    for order in orders:
        pos = {op: i for i, op in enumerate(order)}
        for o in g.operators:
            for t in o.inputs:
                if t in prod:
                    assert pos[prod[t]] < pos[o.index]
    chain = graph.load(zoo_paths["kws_dscnn"])
    assert len(memory.execution_orders(chain)) == 1


def test_mean_scratch_is_planned(zoo_paths):
    g = graph.load(zoo_paths["mean_hw"])
    plan = memory.plan_tflm(g)
    scratch = plan.scratch()
    assert scratch and all(b.first == b.last == 0 for b in scratch)
    assert scratch[0].nbytes == 4 * g.tensor(g.operators[0].outputs[0]).size


def test_validate_catches_overlap(zoo_paths):
    plan = memory.plan_tflm(graph.load(zoo_paths["conv_same_s1"]))
    bad = dataclasses.replace(plan, buffers=tuple(dataclasses.replace(b, offset=0) for b in plan.buffers))
    with pytest.raises(AssertionError):
        memory.validate(bad)


def _synthetic_branches() -> graph.Graph:
    """x -> (expand -> reduce) twice -> concat, in a file order that keeps both big tensors alive."""
    def t(i, n):
        return graph.Tensor(index=i, name=f"t{i}", shape=(1, n), dtype="int8",
                            quantization=graph.Quantization((0.1,), (0,)), is_constant=False)

    tensors = (t(0, 16), t(1, 1000), t(2, 1000), t(3, 16), t(4, 16), t(5, 32))
    op = graph.Operator
    operators = (op(0, "PAD", 1, (0,), (1,)), op(1, "PAD", 1, (0,), (2,)),
                 op(2, "AVERAGE_POOL_2D", 1, (1,), (3,)), op(3, "AVERAGE_POOL_2D", 1, (2,), (4,)),
                 op(4, "CONCATENATION", 1, (3, 4), (5,)))
    return graph.Graph(name="synthetic", path=None, sha256="0" * 64, tensors=tensors, operators=operators,
                       inputs=(0,), outputs=(5,))


def test_reordering_shrinks_a_branching_graph():
    g = _synthetic_branches()
    tflm, improved = memory.plan_tflm(g), memory.plan_improved(g)
    memory.validate(improved)
    assert tflm.arena_size >= 2 * 1008
    assert improved.arena_size < tflm.arena_size and improved.order != tflm.order
    assert "reordered" in improved.detail and any("execute the ops in this plan's order" in n for n in improved.notes)
    greedy = memory.greedy_order(g)
    assert greedy.index(2) < greedy.index(1)  # finishes one branch before starting the other
