"""bench/sagemaker's client: CONNECTIONS processes (one connection each: threads would share one interpreter lock,
and boto3's heavier client would be held back by it more than requests) each run ROUNDS round trips of create +
describe, through one of three paths:

- `sagemaker`: boto3 against the SageMaker endpoint (CreateTrainingJob, DescribeTrainingJob: SigV4 and AWS JSON 1.1);
- `sagemaker-requests`: the same two calls, with the same bodies and headers as boto3 sends, through requests, each
  signed by botocore's own SigV4 signer: the SageMaker endpoint with the client library of the /v1 path, so that the
  two differ only in what the server does (boto3's model-driven serialising and parsing cost the client 1.7× requests);
- `v1`: requests against /v1/jobs (POST, GET: a bearer token and Trainyard's JSON).

Prints one JSON line: the phase, round trips, seconds, round trips per second, and the client's CPU seconds (the client
shares the machine with the server).

    python3 drive.py sagemaker|sagemaker-requests|v1 <base url> <admin key> <connections> <rounds> <name prefix>
"""
import json
import multiprocessing
import resource
import sys
import time

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import requests

mode, base, key, connections, rounds, prefix = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
key_id, secret = key.split(".", 1)
errors = []


def create_request(name):
    """CreateTrainingJob's members as every SDK sends them."""
    return dict(
        TrainingJobName=name, RoleArn="arn:aws:iam::000000000000:role/bench",
        AlgorithmSpecification={"TrainingImage": "bench:1", "TrainingInputMode": "File", "ContainerEntrypoint": ["python3"],
                                "ContainerArguments": ["train.py"]},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600}, OutputDataConfig={"S3OutputPath": "s3://trainyard/default"})


def sagemaker_worker(index):
    client = boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1").client(
        "sagemaker", endpoint_url=base, config=botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=1))
    for round in range(rounds):
        name = f"{prefix}-{index}-{round}"
        client.create_training_job(**create_request(name))
        described = client.describe_training_job(TrainingJobName=name)
        if described["TrainingJobName"] != name:
            errors.append(name)


def sagemaker_requests_worker(index):
    session = requests.Session()
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(key_id, secret), "sagemaker", "us-east-1")

    def call(operation, members):
        request = botocore.awsrequest.AWSRequest(
            method="POST", url=f"{base}/", data=json.dumps(members).encode(),
            headers={"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"})
        signer.add_auth(request)
        answer = session.post(f"{base}/", data=request.body, headers=dict(request.headers.items()))
        if answer.status_code != 200:
            raise RuntimeError(f"{operation}: {answer.status_code} {answer.text[:200]}")
        return answer.json()

    for round in range(rounds):
        name = f"{prefix}-{index}-{round}"
        call("CreateTrainingJob", create_request(name))
        if call("DescribeTrainingJob", {"TrainingJobName": name})["TrainingJobName"] != name:
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
        {"sagemaker": sagemaker_worker, "sagemaker-requests": sagemaker_requests_worker, "v1": v1_worker}[mode](index)
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
