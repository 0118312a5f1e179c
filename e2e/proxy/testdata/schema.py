"""Print the installed Dagster's GraphQL mutations and webserver routes as JSON."""

import json

from dagster_graphql.schema import create_schema
from dagster_graphql.version import __version__ as graphql_version
from dagster_webserver.version import __version__ as webserver_version
from dagster_webserver.webserver import DagsterWebserver
from graphql import GraphQLList, GraphQLNonNull, GraphQLUnionType


def main() -> None:
    """Read the schema and the route list without starting a server."""
    schema = create_schema().graphql_schema
    server = DagsterWebserver.__new__(DagsterWebserver)  # routes only: no workspace
    server._app_path_prefix = ""
    static = {r.path for r in server.build_static_routes()}
    routes = [
        {
            "path": r.path,
            "methods": sorted(getattr(r, "methods", None) or []),
            "websocket": type(r).__name__ == "WebSocketRoute",
        }
        for r in server.build_routes()
        if r.path not in static
    ]
    assert schema.mutation_type is not None and schema.subscription_type is not None
    results: dict[str, list[str]] = {}
    for name, field in schema.mutation_type.fields.items():
        t = field.type
        while isinstance(t, (GraphQLNonNull, GraphQLList)):
            t = t.of_type
        results[name] = sorted(m.name for m in t.types) if isinstance(t, GraphQLUnionType) else []
    print(
        json.dumps(
            {
                "webserver": webserver_version,
                "graphql": graphql_version,
                "mutations": sorted(schema.mutation_type.fields),
                "results": results,
                "subscriptions": sorted(schema.subscription_type.fields),
                "routes": routes,
            }
        )
    )


if __name__ == "__main__":
    main()
