#!/usr/bin/env python3
"""A training script written for SageMaker, standard library only, that runs unchanged on Trainyard.

It uses the container contract the way real scripts do: hyperparameters as --key value arguments (and
SM_HP_*), the training channel under SM_CHANNEL_TRAIN, the cluster from SM_HOSTS / SM_CURRENT_HOST,
checkpoints in SM_CHECKPOINT_DIR (resumed when one is there), metric lines a metric_definitions regex can
pick up, the model in SM_MODEL_DIR, and /opt/ml/output/failure when something goes wrong.
"""
import argparse
import json
import os
import random
import signal
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seconds-per-epoch", type=float, default=0.5)
    return parser.parse_args()


def load_samples(channel_dir):
    """Reads every line of every file in the channel: one number per line."""
    samples = []
    for root, _, files in os.walk(channel_dir):
        for name in sorted(files):
            with open(os.path.join(root, name)) as handle:
                samples += [float(line) for line in handle if line.strip()]
    return samples


def main():
    args = parse_args()
    host = os.environ["SM_CURRENT_HOST"]
    hosts = json.loads(os.environ["SM_HOSTS"])
    checkpoint_dir = os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
    model_dir = os.environ["SM_MODEL_DIR"]
    samples = load_samples(os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    print(f"{host} of {hosts}: {len(samples)} samples, {args.epochs} epochs, lr={args.learning_rate}", flush=True)

    # Resume from the last checkpoint when there is one (after a spot interruption or a retry).
    state_file = os.path.join(checkpoint_dir, f"state-{host}.json")
    state = {"epoch": 0, "weight": 0.0}
    if os.path.exists(state_file):
        with open(state_file) as handle:
            state = json.load(handle)
        print(f"resuming from epoch {state['epoch']}", flush=True)

    def save_and_exit(signum, _frame):
        # A stop or an interruption: the checkpoint is already on disk; leave the model as it is.
        print(f"received signal {signum}; saving and exiting", flush=True)
        write_model(model_dir, host, state)
        sys.exit(0)

    signal.signal(signal.SIGTERM, save_and_exit)
    target = sum(samples) / len(samples) if samples else 1.0
    for epoch in range(state["epoch"], args.epochs):
        time.sleep(args.seconds_per_epoch)
        state["weight"] += args.learning_rate * (target - state["weight"])
        loss = (target - state["weight"]) ** 2 + random.random() * 1e-3
        state["epoch"] = epoch + 1
        print(f"epoch={epoch + 1} loss={loss:.6f} weight={state['weight']:.6f}", flush=True)
        os.makedirs(checkpoint_dir, exist_ok=True)
        with open(state_file + ".tmp", "w") as handle:
            json.dump(state, handle)
        os.replace(state_file + ".tmp", state_file)

    write_model(model_dir, host, state)
    print(f"final loss={loss:.6f}", flush=True)


def write_model(model_dir, host, state):
    with open(os.path.join(model_dir, f"model-{host}.json"), "w") as handle:
        json.dump(state, handle)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # SageMaker's convention: the reason goes to output/failure.
        with open(os.path.join(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"), "failure"), "w") as handle:
            handle.write(f"{type(error).__name__}: {error}")
        raise
