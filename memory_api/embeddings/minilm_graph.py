"""The shipped all-MiniLM-L6-v2 rebuilt as a lean onnxruntime graph, with the same weights.

The shipped file is a PyTorch export: per layer, its attention is ~40 small
operators (the key reshaped and transposed three times, the mask rebuilt from
shapes, a NaN guard after the softmax) that onnxruntime cannot fuse, and at one
text of ~15 tokens those operators cost about as much as the matrix products.
This module lays the same computation out with onnxruntime's fused operators:
EmbedLayerNormalization, then per layer Attention (query, key and value in one
product), the output product, SkipLayerNormalization, the feed-forward products
with BiasGelu, SkipLayerNormalization: 52 operators once quantised, against
261. In float32 its vectors equal the export's (checked by the caller on every
build); quantised, a text embeds about a quarter faster (docs/benchmarks.md).

It reads weights by the names the export gives them (the pinned file's), so it
applies to that file only; anything else raises GraphMismatch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LAYERS, HEADS, HIDDEN = 6, 12, 384
_EPSILON = 1e-12  # the export's LayerNormalization epsilon
_PREFIX = "inner."


class GraphMismatch(ValueError):
    """The model is not the export this module knows."""


def export_weights(model: Any) -> dict[str, np.ndarray]:
    """The export's parameters by their PyTorch names. Its linear layers are MatMul + Add(bias): a weight
    is found as the constant operand of the MatMul feeding the Add of the bias with that name."""
    from onnx import numpy_helper

    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    producers = {out: node for node in model.graph.node for out in node.output}
    weights = {name: value for name, value in constants.items() if name.startswith(_PREFIX)}
    for node in model.graph.node:
        bias = next((name for name in node.input if name.endswith(".bias") and name in constants), None)
        if node.op_type != "Add" or bias is None:
            continue
        product = producers.get(next(name for name in node.input if name != bias))
        if product is not None and product.op_type == "MatMul":
            weight = next((name for name in product.input if name in constants), None)
            if weight is not None:
                weights[bias[:-len("bias")] + "weight"] = constants[weight]
    return weights


class _LeanGraph:
    """The nodes and initializers of the lean graph, added a part at a time (lean_graph)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.initializers: list[Any] = []
        self.nodes: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def weight(self, name: str) -> np.ndarray:
        try:
            return self.weights[_PREFIX + name]
        except KeyError:
            raise GraphMismatch(f"the model has no parameter {_PREFIX + name}") from None

    @staticmethod
    def fused(op: str, inputs: list[str], output: str, **attributes: Any) -> Any:
        from onnx import helper

        return helper.make_node(op, inputs, [output], domain="com.microsoft", **attributes)

    def add_embeddings(self) -> str:
        """Token, position and type embeddings with their layer norm; returns the hidden state's name."""
        from onnx import TensorProto, helper

        constant, weight, embeddings = self.constant, self.weight, "embeddings."
        self.nodes += [helper.make_node("Cast", [name], [name + "_32"], to=TensorProto.INT32)
                       for name in ("input_ids", "token_type_ids", "attention_mask")]
        self.nodes.append(helper.make_node(
            "EmbedLayerNormalization",
            ["input_ids_32", "token_type_ids_32",
             constant("word_embeddings", weight(embeddings + "word_embeddings.weight")),
             constant("position_embeddings", weight(embeddings + "position_embeddings.weight")),
             constant("token_type_embeddings", weight(embeddings + "token_type_embeddings.weight")),
             constant("embeddings_gamma", weight(embeddings + "LayerNorm.weight")),
             constant("embeddings_beta", weight(embeddings + "LayerNorm.bias")), "attention_mask_32"],
            ["hidden_0", "mask_index"], domain="com.microsoft", epsilon=_EPSILON))
        return "hidden_0"

    def add_layer(self, i: int, hidden: str, out: str) -> None:
        """Encoder layer `i`: fused attention, its projection and norm, then the feed-forward block."""
        from onnx import helper

        constant, weight, fused = self.constant, self.weight, self.fused
        layer = f"encoder.layer.{i}."
        attention = layer + "attention."
        qkv_weight = np.concatenate([weight(f"{attention}self.{p}.weight") for p in ("query", "key", "value")], axis=1)
        qkv_bias = np.concatenate([weight(f"{attention}self.{p}.bias") for p in ("query", "key", "value")])
        self.nodes += [
            fused("Attention", [hidden, constant(f"qkv_weight_{i}", qkv_weight), constant(f"qkv_bias_{i}", qkv_bias),
                                "mask_index"], f"attention_{i}", num_heads=HEADS),
            helper.make_node("MatMul", [f"attention_{i}", constant(f"attention_out_{i}",
                                                                   weight(attention + "output.dense.weight"))],
                             [f"attention_projected_{i}"]),
            fused("SkipLayerNormalization",
                  [f"attention_projected_{i}", hidden,
                   constant(f"attention_gamma_{i}", weight(attention + "output.LayerNorm.weight")),
                   constant(f"attention_beta_{i}", weight(attention + "output.LayerNorm.bias")),
                   constant(f"attention_out_bias_{i}", weight(attention + "output.dense.bias"))],
                  f"attended_{i}", epsilon=_EPSILON),
            helper.make_node("MatMul",
                             [f"attended_{i}", constant(f"up_{i}", weight(layer + "intermediate.dense.weight"))],
                             [f"up_{i}_out"]),
            fused("BiasGelu", [f"up_{i}_out", constant(f"up_bias_{i}", weight(layer + "intermediate.dense.bias"))],
                  f"gelu_{i}"),
            helper.make_node("MatMul", [f"gelu_{i}", constant(f"down_{i}", weight(layer + "output.dense.weight"))],
                             [f"down_{i}_out"]),
            fused("SkipLayerNormalization",
                  [f"down_{i}_out", f"attended_{i}", constant(f"gamma_{i}", weight(layer + "output.LayerNorm.weight")),
                   constant(f"beta_{i}", weight(layer + "output.LayerNorm.bias")),
                   constant(f"down_bias_{i}", weight(layer + "output.dense.bias"))],
                  out, epsilon=_EPSILON),
        ]


def lean_graph(model: Any) -> Any:
    """The float32 model of `model` (the export, its weights folded to float) with fused operators."""
    from onnx import TensorProto, helper

    graph = _LeanGraph(export_weights(model))
    hidden = graph.add_embeddings()
    for i in range(LAYERS):
        out = f"hidden_{i + 1}" if i < LAYERS - 1 else "last_hidden_state"
        graph.add_layer(i, hidden, out)
        hidden = out
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])]
    onnx_graph = helper.make_graph(graph.nodes, "all-MiniLM-L6-v2", inputs, outputs, graph.initializers)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    lean = helper.make_model(onnx_graph, opset_imports=opsets)
    lean.ir_version = 8
    return lean
