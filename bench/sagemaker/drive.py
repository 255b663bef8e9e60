"""bench/sagemaker's client: CONNECTIONS threads each run ROUNDS round trips of create + describe, either through
boto3 against the SageMaker endpoint (CreateTrainingJob, DescribeTrainingJob: SigV4 and AWS JSON 1.1) or through
requests against /v1/jobs (POST, GET: a bearer token and Trainyard's JSON). Prints one JSON line: the phase, round
trips, seconds, round trips per second, and the client's CPU seconds (the client shares the machine with the server).

    python3 drive.py sagemaker|v1 <base url> <admin key> <connections> <rounds> <name prefix>
"""
import json
import resource
import sys
import threading
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


def guarded(worker, index):
    try:
        worker(index)
    except Exception as error:  # a failed call ends the thread's rounds; the run reports it
        errors.append(f"{type(error).__name__}: {error}")


worker = sagemaker_worker if mode == "sagemaker" else v1_worker
threads = [threading.Thread(target=guarded, args=(worker, i)) for i in range(connections)]
cpu_before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
seconds = time.perf_counter() - start
cpu_after = resource.getrusage(resource.RUSAGE_SELF)
total = connections * rounds
cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
print(json.dumps({"mode": mode, "round_trips": total, "seconds": round(seconds, 3), "per_second": round(total / seconds, 1),
                  "client_cpu_seconds": round(cpu, 2), "errors": len(errors), "first_error": errors[0] if errors else None}))
sys.exit(1 if errors else 0)
