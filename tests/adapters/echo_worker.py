"""A worker for tests/adapters/test_children.py: answers each message with ("echo", it),
until an empty one."""

from adapters.children import worker_connection

if __name__ == "__main__":
    connection = worker_connection()
    while (message := connection.recv()) != "":
        connection.send(("echo", message))
