"""bench/sagemaker's client: CONNECTIONS processes (one connection each: threads would share one interpreter lock,
and boto3's heavier client would be held back by it more than requests) each run ROUNDS round trips of create +
describe, either through
boto3 against the SageMaker endpoint (CreateTrainingJob, DescribeTrainingJob: SigV4 and AWS JSON 1.1) or through
requests against /v1/jobs (POST, GET: a bearer token and Trainyard's JSON). Prints one JSON line: the phase, round
trips, seconds, round trips per second, and the client's CPU seconds (the client shares the machine with the server).

    python3 drive.py sagemaker|v1 <base url> <admin key> <connections> <rounds> <name prefix>
"""
import json
import multiprocessing
import resource
import sys
import time

import boto3
import botocore.config
import requests

mode, base, key, connections, rounds, prefix = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
key_id, secret = key.split(".", 1)
errors = []


def sagemaker_worker(index):
    client = boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1").client(
        "sagemaker", endpoint_url=base, config=botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=1))
    for round in range(rounds):
        name = f"{prefix}-{index}-{round}"
        client.create_training_job(
            TrainingJobName=name, RoleArn="arn:aws:iam::000000000000:role/bench",
            AlgorithmSpecification={"TrainingImage": "bench:1", "TrainingInputMode": "File", "ContainerEntrypoint": ["python3"],
                                    "ContainerArguments": ["train.py"]},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            StoppingCondition={"MaxRuntimeInSeconds": 3600}, OutputDataConfig={"S3OutputPath": "s3://trainyard/default"})
        described = client.describe_training_job(TrainingJobName=name)
        if described["TrainingJobName"] != name:
            errors.append(name)


def v1_worker(index):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    for round in range(rounds):
        name = f"{prefix}-{index}-{round}"
        created = session.post(f"{base}/v1/jobs", json={"name": name, "instance_type": "ml.m5.large", "command": ["python3", "train.py"],
                                                       "image_uri": "bench:1", "max_run": 3600})
        described = session.get(f"{base}/v1/jobs/{name}")
        if created.status_code != 201 or described.status_code != 200:
            errors.append(f"{name}: {created.status_code} {described.status_code}")


def run(index):
    """One connection's rounds in its own process; answers its errors."""
    try:
        (sagemaker_worker if mode == "sagemaker" else v1_worker)(index)
    except Exception as error:  # a failed call ends the connection's rounds; the run reports it
        errors.append(f"{type(error).__name__}: {error}")
    return errors


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        # The processes start (and import boto3) before the clock does.
        pool.map(time.sleep, [0] * connections)
        start = time.perf_counter()
        results = pool.map(run, range(connections))
        seconds = time.perf_counter() - start
    failures = [error for result in results for error in result]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = connections * rounds
    print(json.dumps({"mode": mode, "round_trips": total, "seconds": round(seconds, 3), "per_second": round(total / seconds, 1),
                      "client_cpu_seconds": round(children.ru_utime + children.ru_stime, 2), "errors": len(failures),
                      "first_error": failures[0] if failures else None}))
    sys.exit(1 if failures else 0)
