"""Any-language proof: a Python client (Debian's python3-grpcio) with stubs generated from the .proto at test time.

Usage: client.py <stub_dir> <grpc_port> <model>
Prints one JSON object with what it saw; exits non-zero on any unexpected result.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import struct_pb2  # noqa: E402
from genome.explain.v1 import explainer_pb2 as pb  # noqa: E402
from genome.explain.v1 import explainer_pb2_grpc as rpc  # noqa: E402

port, model = sys.argv[2], sys.argv[3]
out = {}
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    stub = rpc.ExplainerStub(channel)
    models = stub.ListModels(pb.ListModelsRequest(), timeout=10)
    out["models"] = [m.name for m in models.models]
    info = stub.DescribeModel(pb.DescribeModelRequest(model=pb.ModelRef(name=model)), timeout=10).model
    out["features"] = list(info.feature_names)
    out["methods"] = list(info.methods)

    params = struct_pb2.Struct()
    params.update({"nsamples": 64, "seed": 1})
    req = pb.ExplainRequest(
        model=pb.ModelRef(name=model),
        method=pb.METHOD_KERNEL_SHAP,
        parameters=params,
        tabular=pb.TabularInput(rows=[pb.Row(values=[1.0, 2.0, 3.0]), pb.Row(values=[3.0, -4.0, 2.0])]),
        request_id="py-1",
    )
    res = stub.Explain(req, timeout=30)
    out["shape"] = list(res.shape)
    out["values"] = list(res.values)
    out["base_values"] = list(res.base_values)
    out["request_id"] = res.request_id
    out["json_schema"] = json.loads(res.explanation_json)["schema"]

    stream = stub.ExplainStream(pb.ExplainStreamRequest(request=req, chunk_size=1), timeout=30)
    events = []
    for msg in stream:
        events.append(msg.WhichOneof("event"))
    out["stream_events"] = events

    try:
        stub.Explain(pb.ExplainRequest(model=pb.ModelRef(name=model), method_name="kernel_shap"), timeout=10)
        out["invalid"] = "no error"
    except grpc.RpcError as e:
        out["invalid"] = [e.code().name, e.details()]

    # Explain and plot in one call: the waterfall of the first row, as SVG, and the explanation it drew.
    pic = stub.Visualize(pb.VisualizeRequest(kind="waterfall", format="svg", explain=req), timeout=30)
    out["visualize"] = [pic.kind, pic.content_type, pic.content[:4].decode(), json.loads(pic.explanation_json)["schema"]]

print(json.dumps(out))
