"""Step 4, from Python: Debian's python3-grpcio with stubs generated from proto/ (grpc_tools.protoc).

Usage: /usr/bin/python3 client.py <stub_dir> <host:port> <model> <rows.json>
Prints {"values": [[...]...], "base_values": [...], "predictions": [...], "version": "..."} for the rows.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import struct_pb2  # noqa: E402
from genome.explain.v1 import explainer_pb2 as pb  # noqa: E402
from genome.explain.v1 import explainer_pb2_grpc as rpc  # noqa: E402

address, model, rows_file = sys.argv[2], sys.argv[3], sys.argv[4]
with open(rows_file) as f:
    rows = json.load(f)

with grpc.insecure_channel(address) as channel:
    stub = rpc.ExplainerStub(channel)
    params = struct_pb2.Struct()
    params.update({"feature_perturbation": "tree_path_dependent"})
    res = stub.Explain(
        pb.ExplainRequest(
            model=pb.ModelRef(name=model),
            method_name="tree_shap",
            parameters=params,
            tabular=pb.TabularInput(rows=[pb.Row(values=r) for r in rows]),
        ),
        timeout=60,
    )
    n, f = res.shape[0], res.shape[1]
    values = [[res.values[(i * f + j) * res.shape[2]] for j in range(f)] for i in range(n)]
    print(json.dumps({"values": values, "base_values": list(res.base_values)[::res.shape[2]], "predictions": list(res.predictions)[::res.shape[2]], "version": res.model_version, "method": res.method}))
