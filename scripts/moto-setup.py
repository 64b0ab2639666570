"""Creates what the functions need on a local AWS endpoint (moto): the table and the three secrets.

    python scripts/moto-setup.py --name meli-radar --client-id ID --client-secret SECRET > env-file

The table has the schema Terraform gives it (pk/sk, stream NEW_AND_OLD_IMAGES, the by_day index;
`meli_aws::dynamo::create_table` is the Rust twin the moto tests use). Prints the functions'
environment (KEY=VALUE lines) for `cargo lambda watch --env-file`. Runs under scripts/with-moto.sh,
which sets AWS_ENDPOINT_URL; it refuses to run against anything but a loopback endpoint.
"""

import argparse
import json
import os
import sys
from urllib.parse import urlparse

import boto3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", default="meli-radar")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    args = p.parse_args()

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("AWS_ENDPOINT_URL must point at a local server (run through scripts/with-moto.sh)")

    ddb = boto3.client("dynamodb", endpoint_url=endpoint)
    ddb.create_table(
        TableName=args.name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "day")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    sm = boto3.client("secretsmanager", endpoint_url=endpoint)
    app = sm.create_secret(
        Name=f"{args.name}/app",
        SecretString=json.dumps(
            {"client_id": args.client_id, "client_secret": args.client_secret, "grant": "client_credentials"}
        ),
    )
    token = sm.create_secret(Name=f"{args.name}/token")
    # The notifier's format (docs/alerts.md): a JSON list of webhooks; [] is "no Slack".
    slack = sm.create_secret(Name=f"{args.name}/slack", SecretString="[]")
    sns = boto3.client("sns", endpoint_url=endpoint)
    topic = sns.create_topic(Name=f"{args.name}-alerts")

    print(f"MELI_TABLE_NAME={args.name}")
    print(f"MELI_APP_SECRET_ID={app['ARN']}")
    print(f"MELI_TOKEN_SECRET_ID={token['ARN']}")
    print(f"MELI_SLACK_SECRET_ID={slack['ARN']}")
    print(f"MELI_SNS_TOPIC_ARN={topic['TopicArn']}")


if __name__ == "__main__":
    main()
