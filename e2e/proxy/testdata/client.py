"""Ask the run's status with dagster-graphql's client through the proxy, with a bearer token."""

import os
import sys

from dagster_graphql import DagsterGraphQLClient


def main() -> None:
    """argv: host, port, run id; the token is in DAGSTER_TOKEN."""
    client = DagsterGraphQLClient(
        sys.argv[1],
        port_number=int(sys.argv[2]),
        headers={"Authorization": "Bearer " + os.environ["DAGSTER_TOKEN"]},
    )
    print(client.get_run_status(sys.argv[3]).value)


if __name__ == "__main__":
    main()
