"""A small OTLP/HTTP receiver on 127.0.0.1 for the tests: it decodes the real protobuf export
requests (opentelemetry-proto from PyPI) and keeps every span and metric data point it gets."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


def attribute_value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [attribute_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes(items):
    return {a.key: attribute_value(a.value) for a in items}


class Receiver:
    def __init__(self):
        self.spans = []
        self.metrics = []  # (name, kind, attributes, point)
        self.resources = []
        self.requests = []  # (path, content-type)
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver._take(self.path, self.headers.get("content-type", ""), body)
                if self.path == "/v1/traces":
                    answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                else:
                    answer = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _take(self, path, content_type, body):
        with self._cond:
            self.requests.append((path, content_type))
            if path == "/v1/traces":
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    self.resources.append(attributes(resource_spans.resource.attributes))
                    for scope in resource_spans.scope_spans:
                        self.spans.extend(scope.spans)
            elif path == "/v1/metrics":
                request = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                for resource_metrics in request.resource_metrics:
                    self.resources.append(attributes(resource_metrics.resource.attributes))
                    for scope in resource_metrics.scope_metrics:
                        for metric in scope.metrics:
                            kind = metric.WhichOneof("data")
                            for point in getattr(metric, kind).data_points:
                                self.metrics.append((metric.name, kind, attributes(point.attributes), point))
            self._cond.notify_all()

    def wait(self, predicate, timeout=20, what="spans"):
        """Waits until predicate(self) is truthy and returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = [s.name for s in self.spans]
                    raise TimeoutError(f"the receiver did not get the expected {what}; spans: {names}; "
                                       f"metrics: {sorted({m[0] for m in self.metrics})}")
                self._cond.wait(remaining)

    def trace(self, trace_id):
        return [s for s in self.spans if s.trace_id.hex() == trace_id]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
