"""Train memsim's built-in digits network once, in floating point, and write it as a network .npz.

The network is a small ReLU MLP (64 pixels -> 64 -> 32 -> 10 logits) fitted with scikit-learn's
MLPClassifier on the digits "train" split only (memsim.workload.datasets.digits_splits, seed 0). Early stopping is
off, so the fit uses every training image and is fully determined by --random-state. The weights are saved
with memsim.workload.network.save_network together with a provenance string, and the tool prints the float
accuracy on all three splits as computed by Network.forward_float (the same path the simulator uses).

    python tools/train_digits.py -o memsim/data/digits_mlp.npz   # from the repository root: the shipped weights
    python tools/train_digits.py   # no -o: data/digits_mlp.npz next to the *imported* memsim (site-packages)
    python tools/train_digits.py -o /tmp/net.npz --hidden 32 16
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import memsim
from memsim.workload.datasets import DIGITS_SPLIT_FRACTIONS, DIGITS_SPLIT_SEED, digits_splits
from memsim.workload.network import DenseLayer, Network, save_network
from memsim.files import interruptible


def split_description(n_train: int) -> str:
    """Which images the network was fitted on, for the provenance string: the split, its size and fractions."""
    fractions = "/".join(f"{100 * DIGITS_SPLIT_FRACTIONS[s]:g}" for s in ("train", "calibration", "test"))
    return (f"digits_splits(seed={DIGITS_SPLIT_SEED})['train'] ({n_train} images; split train/calibration/test "
            f"{fractions} %, stratified)")


def default_output() -> Path:
    """The packaged location that memsim.workload.network.builtin_network("digits-mlp") reads."""
    return Path(memsim.__file__).resolve().parent / "data" / "digits_mlp.npz"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=None, help="network .npz to write (default: the packaged "
                                                                        "digits_mlp.npz)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 32], help="hidden layer sizes (default: 64 32)")
    parser.add_argument("--random-state", type=int, default=0, help="seed of the weight initialisation and batch "
                                                                    "shuffling (default: 0)")
    parser.add_argument("--max-iter", type=int, default=1000, help="maximum Adam epochs (default: 1000)")
    parser.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty (default: 1e-3)")
    parser.add_argument("--name", default="digits-mlp", help="network name stored in the file (default: digits-mlp)")
    return parser.parse_args(argv)


def train(args: argparse.Namespace, argv: list[str]) -> tuple[Network, str]:
    """Fit the MLP on the train split; return it as a memsim Network and a provenance string naming `argv`."""
    if any(size < 1 for size in args.hidden):
        raise ValueError(f"--hidden: {args.hidden} is not allowed; every size must be >= 1")
    splits = digits_splits()
    classifier = MLPClassifier(
        hidden_layer_sizes=tuple(args.hidden),
        activation="relu",
        solver="adam",
        alpha=args.alpha,
        max_iter=args.max_iter,
        early_stopping=False,
        random_state=args.random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            classifier.fit(splits["train"].x, splits["train"].y)
        except ConvergenceWarning:
            raise ValueError(f"--max-iter: {args.max_iter} epochs did not converge; allow more epochs") from None
    if not np.array_equal(classifier.classes_, np.arange(len(classifier.classes_))):
        raise ValueError(f"train split labels {classifier.classes_} are not 0..n-1; logits would not index classes")
    n_layers = len(classifier.coefs_)
    layers = tuple(
        DenseLayer(weight, bias, "relu" if i < n_layers - 1 else "none")
        for i, (weight, bias) in enumerate(zip(classifier.coefs_, classifier.intercepts_, strict=True))
    )
    network = Network(name=args.name, layers=layers)
    command = shlex.join(["python", "tools/train_digits.py", *argv])
    provenance = (
        f"tools/train_digits.py: sklearn {sklearn.__version__} MLPClassifier(hidden_layer_sizes={tuple(args.hidden)}, "
        f"activation='relu', solver='adam', alpha={args.alpha}, max_iter={args.max_iter}, early_stopping=False, "
        f"random_state={args.random_state}); numpy {np.__version__}; fitted on "
        f"{split_description(splits['train'].n_samples)} in {classifier.n_iter_} epochs; command: {command}"
    )
    return network, provenance


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        network, provenance = train(args, argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output is None:
        output = default_output()
        output.parent.mkdir(exist_ok=True)
    else:
        output = args.output
    save_network(network, output, provenance=provenance)
    sizes = " -> ".join(str(n) for n in [network.in_features, *(layer.out_features for layer in network.layers)])
    print(f"{network.name}: {sizes}, {network.macs_per_inference} MACs per inference")
    for split, data in digits_splits().items():
        accuracy = float(np.mean(np.argmax(network.forward_float(data.x), axis=1) == data.y))
        print(f"float accuracy {split:<12} {accuracy:.4f}  ({data.n_samples} images)")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    with interruptible("train_digits"):  # SIGTERM/SIGINT remove the temporaries and end with one line
        sys.exit(main())
