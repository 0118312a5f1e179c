"""Serve dagster-webserver's app on an inherited, already listening socket.

The test listens on 127.0.0.1 port 0 and passes the socket as file
descriptor 3, so the port is chosen by the OS and never raced for.
"""

import sys

import uvicorn
from dagster import DagsterInstance
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster_webserver.app import create_app_from_workspace_process_context


def main() -> None:
    """Load the workspace file named in argv and serve it on fd 3."""
    instance = DagsterInstance.get()
    context = WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[sys.argv[1]]))
    app = create_app_from_workspace_process_context(context, "")
    uvicorn.run(app, fd=3, log_level="warning")


if __name__ == "__main__":
    main()
