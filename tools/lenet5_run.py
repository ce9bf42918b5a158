"""Wall time and peak memory of ``memsim simulate`` on a LeNet-5 ONNX model over 10,000 images (README).

LeNet-5 for 1×28×28 inputs (LeCun et al., Proc. IEEE 1998, with ReLU and max pooling): Conv 6@5×5 pad 2,
pool 2, Conv 16@5×5, pool 2, Gemm 120, Gemm 84, Gemm 10. The weights are random (standard normal scaled by
1/√fan-in, seed 0) and so are the images (uniform pixels in [0, 1), seed 1; labels seed 2): the figures
are about speed and memory, not accuracy — no MNIST is downloaded. The model is written with ``onnx.helper``
(``pip install 'memsim[onnx]'``), the run is one ``memsim simulate`` command in a child process on one chip
with the ISAAC card, and its peak resident memory is read with ``resource.getrusage``.

    python tools/lenet5_run.py                  # 10,000 images
    python tools/lenet5_run.py --images 1000    # fewer
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def lenet5_onnx(path: Path) -> None:
    """Write the random-weight LeNet-5 (module docstring) as an ONNX model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits, nodes = [], []

    def weight(name, *shape):
        fan_in = int(np.prod(shape[1:]))
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name))
        inits.append(numpy_helper.from_array(np.zeros(shape[0], np.float32), name + "_b"))
        return [name, name + "_b"]

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    h = node("Conv", ["x", *weight("c1", 6, 1, 5, 5)], "conv1", kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    h = node("MaxPool", [node("Relu", [h], "relu1")], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    h = node("Conv", [h, *weight("c2", 16, 6, 5, 5)], "conv2", kernel_shape=[5, 5])
    h = node("MaxPool", [node("Relu", [h], "relu2")], "pool2", kernel_shape=[2, 2], strides=[2, 2])
    h = node("Flatten", [h], "flatten", axis=1)
    h = node("Relu", [node("Gemm", [h, *weight("f1", 120, 400)], "fc1", transB=1)], "relu3")
    h = node("Relu", [node("Gemm", [h, *weight("f2", 84, 120)], "fc2", transB=1)], "relu4")
    h = node("Gemm", [h, *weight("f3", 10, 84)], "logits", transB=1)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])
    graph = helper.make_graph(nodes, "lenet5", [x], [helper.make_tensor_value_info(h, TensorProto.FLOAT, ["N", 10])],
                              inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lenet5_run", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="images to simulate (default 10000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model, data = Path(tmp, "lenet5.onnx"), Path(tmp, "images.npz")
        lenet5_onnx(model)
        x = np.random.default_rng(1).random((args.images, 1, 28, 28))
        np.savez(data, x=x, y=np.random.default_rng(2).integers(0, 10, args.images))
        exe = Path(sys.executable).with_name("memsim")
        cmd = [str(exe), "simulate", "--network", str(model), "--data", str(data), "--chips", "1", "--no-trace",
               "--json"]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    s = json.loads(out)
    print(json.dumps({"images": args.images, "wall_s": wall, "peak_rss_mb": peak_mb, "macs_per_inference":
                      s["macs_per_inference"], "energy_per_inference_j": s["energy_per_inference_j"],
                      "latency_s": s["latency_s"], "throughput_inf_per_s": s["throughput_inf_per_s"],
                      "stages": s["stages"], "events": s["events"]}, indent=2))


if __name__ == "__main__":
    main()
