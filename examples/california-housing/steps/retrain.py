#!/usr/bin/env python3
"""Step "retrain": retrains the California housing model when the monitor step says so, and registers it.

Reads monitor.json (the monitor step) from the run's work directory. When `retrain` is false it writes
retrain.json {retrained: false, why} and registers nothing. Otherwise it trains an XGBoost regressor (the model
xgboost.XGBRegressor(n_estimators, max_depth, learning_rate, random_state=seed) fits, trained through xgb.train because
the scikit-learn wrapper needs scikit-learn, which Debian's python3-xgboost lacks) on reference.csv + current.csv (the prepare step; a seeded 80/20 split into training and holdout rows), builds a Genome
package in <workDir>/package (genome.json, model.json from save_model, background.csv with 100 training rows), writes
holdout_predictions.json (the first 20 holdout rows and XGBoost's predictions for them) and registers the package as
the next version of CANONICAL_NAME with the genome CLI (`node apps/cli/bin/genome.mjs store save ...`, which reads
the same GENOME_STORE_* variables), with its holdout metrics (rmse, mae, r2), the run and this step as lineage
(pipelineName, pipelineRunId, pipelineStage = STEP_NAME, application), framework xgboost, input modality tabular, the
version name, and the alias `production` moved to it. Then writes retrain.json {retrained: true, version, metrics}.

Parameters (TRANSFORM_PARAMETERS): n_estimators (150), max_depth (5), learning_rate (0.1), seed (42: the split and
XGBoost's random_state), testFraction (0.2), target ("target"), version (the package's semantic version, "1.1.0"),
versionName (the store's version label, default: version), aliases (["production"]), backgroundRows (100),
node (the Node executable, "node"), cli (the genome CLI script, default apps/cli/bin/genome.mjs of this repository),
workDir (as examples/pipelines/steps/lib.mjs: default <tmpdir>/genome-pipelines/<PIPELINE_RUNID>).

Runs with Debian's /usr/bin/python3 (python3-xgboost, python3-numpy). Exit codes as lib.mjs: 2 for bad input
(environment, parameters, missing or malformed files), 1 for anything else, each with a message on stderr.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BAD_INPUT = 2
REPO_ROOT = Path(__file__).resolve().parents[3]
FEATURE_DOCS = {
    'MedInc': ('Median income of the block group', '10k USD'),
    'HouseAge': ('Median house age in the block group', 'years'),
    'AveRooms': ('Average number of rooms per household', None),
    'AveBedrms': ('Average number of bedrooms per household', None),
    'Population': ('Block group population', None),
    'AveOccup': ('Average number of household members', None),
    'Latitude': (None, 'degrees'),
    'Longitude': (None, 'degrees'),
}


class StepInputError(Exception):
    pass


def fail(message, code=BAD_INPUT):
    who = f"step {os.environ['STEP_NAME']}" if os.environ.get('STEP_NAME') else 'step'
    sys.stderr.write(f'{who}: {message}\n')
    sys.stderr.flush()
    sys.exit(code)


def required(name):
    v = os.environ.get(name, '')
    if v == '':
        raise StepInputError(
            f'{name} is not set; this script is a pipeline step: run it through the sequencer '
            '(genome pipeline run examples/california-housing/pipeline.json) or set the step environment yourself '
            '(see examples/pipelines/README.md)'
        )
    return v


def step_context():
    run_id = required('PIPELINE_RUNID')
    if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9._-]{0,127}', run_id) or '..' in run_id:
        raise StepInputError(f'PIPELINE_RUNID {json.dumps(run_id)} is not a run id (letters, digits, ".", "_", "-")')
    raw = os.environ.get('TRANSFORM_PARAMETERS', '{}') or '{}'
    try:
        params = json.loads(raw)
    except json.JSONDecodeError as e:
        raise StepInputError(f'TRANSFORM_PARAMETERS is not JSON ({e}): {raw[:200]}')
    if not isinstance(params, dict):
        raise StepInputError(f'TRANSFORM_PARAMETERS must be a JSON object (the step\'s "parameters"), got {raw[:200]}')
    return {
        'runId': run_id,
        'pipelineName': required('PIPELINE_NAME'),
        'stepName': required('STEP_NAME'),
        'application': os.environ.get('APPLICATION', ''),
        'canonicalName': os.environ.get('CANONICAL_NAME', ''),
        'params': params,
    }


def param(ctx, name, kind, fallback):
    v = ctx['params'].get(name)
    if v is None:
        return fallback
    if kind == 'integer':
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif kind == 'number':
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    elif kind == 'string':
        ok = isinstance(v, str) and v != ''
    elif kind == 'string[]':
        ok = isinstance(v, list) and all(isinstance(x, str) and x != '' for x in v)
    else:
        raise ValueError(kind)
    if not ok:
        expected = 'an array of non-empty strings' if kind == 'string[]' else f'a {kind}'
        raise StepInputError(f'parameter {name}: expected {expected}, got {json.dumps(v)}')
    return v


def tmpdir():
    # as Node's os.tmpdir(), so that this step finds the directory the Node steps of the run use
    d = os.environ.get('TMPDIR') or os.environ.get('TMP') or os.environ.get('TEMP') or '/tmp'
    return d.rstrip('/') if len(d) > 1 else d


def work_dir(ctx):
    given = param(ctx, 'workDir', 'string', None)
    d = Path(given).resolve() if given is not None else Path(tmpdir()) / 'genome-pipelines' / ctx['runId']
    d.mkdir(parents=True, exist_ok=True)
    return d


def read_earlier(d, name, writer):
    p = d / name
    try:
        return p.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise StepInputError(f'{p} is missing: the {writer} step writes it earlier in the same run (same PIPELINE_RUNID and workDir)')


def parse_csv(text, what):
    lines = [l for l in text.splitlines() if l.strip() != '']
    if len(lines) < 2:
        raise StepInputError(f'{what}: expected a header line and at least one row')
    header = [h.strip() for h in lines[0].split(',')]
    rows = []
    for i, line in enumerate(lines[1:]):
        cells = line.split(',')
        if len(cells) != len(header):
            raise StepInputError(f'{what}: line {i + 2} has {len(cells)} cells, the header {len(header)}')
        row = []
        for j, c in enumerate(cells):
            try:
                x = float(c)
            except ValueError:
                x = math.nan
            if c.strip() == '' or not math.isfinite(x):
                raise StepInputError(f'{what}: line {i + 2}, column {header[j]}: {json.dumps(c)} is not a number')
            row.append(x)
        rows.append(row)
    return header, rows


def write_json(path, value):
    path.write_text(json.dumps(value, indent=2) + '\n', encoding='utf-8')


def register(ctx, package_dir, version_name, metrics, aliases, node, cli, tags):
    """`genome store save` of the package, with the run and step as lineage; returns the saved version (JSON)."""
    argv = [node, str(cli), 'store', 'save', str(package_dir), '--name', ctx['canonicalName'],
            '--pipeline-name', ctx['pipelineName'], '--pipeline-run-id', ctx['runId'], '--pipeline-stage', ctx['stepName'],
            '--framework', 'xgboost', '--input-modality', 'tabular', '--version-name', version_name,
            '--description', 'XGBoost retrained by the california-housing-retrain pipeline after the monitor step found drift',
            '--json', '--quiet']
    if ctx['application']:
        argv += ['--application', ctx['application']]
    for k, v in metrics.items():
        argv += ['--metric', f'{k}={v!r}']
    for k, v in tags.items():
        argv += ['--tag', f'{k}={v}']
    for a in aliases:
        argv += ['--alias', a]
    if not any(os.environ.get(k) for k in ('GENOME_STORE_DIR', 'GENOME_STORE_METADATA', 'GENOME_STORE_BLOBS')):
        sys.stderr.write(f'no GENOME_STORE_* variable is set: saving into the default store ./.genome-store under {os.getcwd()}\n')
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise RuntimeError(f'cannot run {node}: the genome CLI needs Node.js on PATH (or the "node" parameter)')
    if out.returncode != 0:
        raise RuntimeError(f'genome store save exited with {out.returncode}:\n{out.stderr.strip()}\n(command: {" ".join(argv)})')
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f'genome store save printed no JSON: {out.stdout[:500]}')


def main():
    ctx = step_context()
    if not ctx['canonicalName']:
        raise StepInputError("CANONICAL_NAME is not set: the retrained model is saved under the pipeline's canonicalName")
    n_estimators = param(ctx, 'n_estimators', 'integer', 150)
    max_depth = param(ctx, 'max_depth', 'integer', 5)
    learning_rate = param(ctx, 'learning_rate', 'number', 0.1)
    seed = param(ctx, 'seed', 'integer', 42)
    test_fraction = param(ctx, 'testFraction', 'number', 0.2)
    target = param(ctx, 'target', 'string', 'target')
    version = param(ctx, 'version', 'string', '1.1.0')
    version_name = param(ctx, 'versionName', 'string', version)
    aliases = param(ctx, 'aliases', 'string[]', ['production'])
    background_rows = param(ctx, 'backgroundRows', 'integer', 100)
    node = param(ctx, 'node', 'string', 'node')
    cli = Path(param(ctx, 'cli', 'string', str(REPO_ROOT / 'apps' / 'cli' / 'bin' / 'genome.mjs')))
    if n_estimators < 1 or n_estimators > 10000:
        raise StepInputError(f'parameter n_estimators: expected an integer from 1 to 10000, got {n_estimators}')
    if max_depth < 1 or max_depth > 20:
        raise StepInputError(f'parameter max_depth: expected an integer from 1 to 20, got {max_depth}')
    if not 0 < learning_rate <= 1:
        raise StepInputError(f'parameter learning_rate: expected a number in (0, 1], got {learning_rate}')
    if not 0 < test_fraction < 1:
        raise StepInputError(f'parameter testFraction: expected a number between 0 and 1 (exclusive), got {test_fraction}')
    if not re.fullmatch(r'[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?', version):
        raise StepInputError(f'parameter version: expected a semantic version such as "1.3.0", got {json.dumps(version)}')
    package_name = ctx['canonicalName'].lower()
    if not re.fullmatch(r'[a-z0-9][a-z0-9._-]{0,127}', package_name):
        raise StepInputError(f'CANONICAL_NAME {json.dumps(ctx["canonicalName"])} cannot name a Genome package (letters, digits, ".", "_", "-")')
    if background_rows < 1:
        raise StepInputError(f'parameter backgroundRows: expected a positive integer, got {background_rows}')

    d = work_dir(ctx)
    try:
        monitor = json.loads(read_earlier(d, 'monitor.json', 'monitor'))
    except json.JSONDecodeError as e:
        raise StepInputError(f'{d / "monitor.json"} is not JSON ({e})')
    if not isinstance(monitor, dict) or not isinstance(monitor.get('retrain'), bool):
        raise StepInputError(f'{d / "monitor.json"} has no boolean "retrain": is it the monitor step\'s output?')
    reasons = monitor.get('reasons') or []
    monitored = monitor.get('model') or {}
    if not monitor['retrain']:
        why = reasons if reasons else 'no drift over the thresholds'
        write_json(d / 'retrain.json', {'retrained': False, 'why': why, 'model': monitored,
                                        'decidedBy': {'runId': ctx['runId'], 'step': ctx['stepName']}})
        print(f'not retraining {monitored.get("name", ctx["canonicalName"])}/{monitored.get("version", "?")}: '
              f'{why if isinstance(why, str) else "; ".join(why)}')
        return

    if not cli.is_file():
        raise StepInputError(f'the genome CLI {cli} does not exist (parameter cli)')
    ref_header, ref_rows = parse_csv(read_earlier(d, 'reference.csv', 'prepare'), str(d / 'reference.csv'))
    cur_header, cur_rows = parse_csv(read_earlier(d, 'current.csv', 'prepare'), str(d / 'current.csv'))
    if ref_header != cur_header:
        raise StepInputError(f'reference.csv and current.csv have different columns: {ref_header} vs {cur_header}')
    if target not in ref_header:
        raise StepInputError(f'parameter target: {json.dumps(target)} is not a column of reference.csv (columns: {", ".join(ref_header)})')
    features = [h for h in ref_header if h != target]
    if isinstance(monitor.get('inputs'), dict) and set(monitor['inputs']) != set(features):
        raise StepInputError(f'the features of monitor.json ({", ".join(monitor["inputs"])}) are not the columns of the CSVs ({", ".join(features)})')

    try:
        import numpy as np
        import xgboost as xgb
    except ImportError as e:
        raise RuntimeError(f'cannot import xgboost/numpy ({e}) with {sys.executable}: apt-get install -y python3-xgboost '
                           '(the step runs with Debian\'s /usr/bin/python3)')

    data = np.array(ref_rows + cur_rows, dtype=np.float64)
    t = ref_header.index(target)
    fcols = [ref_header.index(f) for f in features]
    X = data[:, fcols]
    y = data[:, t]
    n = len(y)
    perm = np.random.RandomState(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    test, train = perm[:n_test], perm[n_test:]
    if len(train) < 2:
        raise StepInputError(f'{n} rows leave {len(train)} for training: lower testFraction or prepare more rows')

    # XGBRegressor(n_estimators, max_depth, learning_rate, random_state) through XGBoost's native API: the
    # scikit-learn wrapper refuses to start without scikit-learn, which Debian's python3-xgboost does not pull in.
    # XGBRegressor.fit calls xgb.train with exactly these parameters, so the model is the same.
    booster_params = {'objective': 'reg:squarederror', 'max_depth': max_depth, 'eta': learning_rate, 'seed': seed,
                      'tree_method': 'hist', 'nthread': 2}
    model = xgb.train(booster_params, xgb.DMatrix(X[train], label=y[train], feature_names=features),
                      num_boost_round=n_estimators)
    pred = model.predict(xgb.DMatrix(X[test], feature_names=features)).astype(np.float64)
    err = pred - y[test]
    ss_tot = float(np.sum((y[test] - y[test].mean()) ** 2))
    metrics = {
        'rmse': float(np.sqrt(np.mean(err ** 2))),
        'mae': float(np.mean(np.abs(err))),
        'r2': float(1 - np.sum(err ** 2) / ss_tot) if ss_tot > 0 else 0.0,
    }

    pkg = d / 'package'
    if pkg.exists():
        shutil.rmtree(pkg)
    pkg.mkdir(parents=True)
    model.save_model(str(pkg / 'model.json'))
    bg = X[train][:background_rows]
    with open(pkg / 'background.csv', 'w', encoding='utf-8') as f:
        f.write(','.join(features) + '\n')
        for row in bg:
            f.write(','.join(repr(float(v)) for v in row) + '\n')

    def feature(name):
        desc, unit = FEATURE_DOCS.get(name, (None, None))
        return {'name': name, 'type': 'float', **({'description': desc} if desc else {}), **({'unit': unit} if unit else {})}

    manifest = {
        'schemaVersion': 'genome.package/v1',
        'name': package_name,
        'version': version,
        'description': (f'XGBoost regressor (reg:squarederror, {n_estimators} rounds, max_depth {max_depth}, learning_rate {learning_rate}) '
                        f'retrained on {len(train)} rows of reference + current data after drift; predicts the median '
                        'house value of a district in units of 100k USD.'),
        'framework': 'xgboost',
        'task': 'regression',
        'artifacts': {'model': 'model.json', 'background': 'background.csv'},
        'input': {'modality': 'tabular', 'features': [feature(f) for f in features]},
        'output': {'space': 'regression', 'names': ['price'], 'target': 'median house value in 100k USD'},
        'explainer': {'default': 'tree_shap.path_dependent', 'background': {'path': 'background.csv', 'rows': int(len(bg))}},
        'metadata': {
            'xgboost': xgb.__version__,
            'trainingRows': int(len(train)),
            'holdoutRows': int(len(test)),
            'holdoutMetrics': metrics,
            'retrainedFrom': f'{monitored.get("name")}/{monitored.get("version")}' if monitored.get('name') else None,
            'reasons': reasons,
            'pipelineRunId': ctx['runId'],
        },
    }
    write_json(pkg / 'genome.json', manifest)

    k = min(20, len(test))
    write_json(d / 'holdout_predictions.json', {
        'features': features,
        'rows': X[test][:k].tolist(),
        'targets': y[test][:k].tolist(),
        'predictions': [float(p) for p in pred[:k]],
        'xgboost': xgb.__version__,
    })

    tags = {'trigger': 'drift', 'xgboost': xgb.__version__}
    if monitored.get('name'):
        tags['retrainedFrom'] = f'{monitored["name"]}/{monitored["version"]}'
    saved = register(ctx, pkg, version_name, metrics, aliases, node, cli, tags)
    result = {
        'retrained': True,
        'name': saved['name'],
        'version': saved['version'],
        'versionName': version_name,
        'aliases': saved.get('aliases', aliases),
        'metrics': metrics,
        'trainRows': int(len(train)),
        'holdoutRows': int(len(test)),
        'parameters': {'n_estimators': n_estimators, 'max_depth': max_depth, 'learning_rate': learning_rate, 'seed': seed},
        'package': str(pkg),
        'reasons': reasons,
        'retrainedFrom': tags.get('retrainedFrom'),
    }
    write_json(d / 'retrain.json', result)
    print(f'retrained {monitored.get("name", ctx["canonicalName"])}/{monitored.get("version", "?")} on {len(train)} rows '
          f'({len(reasons)} reason(s)): holdout RMSE {metrics["rmse"]:.4f}, MAE {metrics["mae"]:.4f}, R2 {metrics["r2"]:.4f}')
    print(f'saved {saved["name"]}/{saved["version"]} (version name {version_name}, aliases {", ".join(saved.get("aliases", aliases))}) '
          f'with run {ctx["runId"]}, stage {ctx["stepName"]} as lineage')


if __name__ == '__main__':
    try:
        main()
    except StepInputError as e:
        fail(str(e), BAD_INPUT)
    except Exception as e:  # noqa: BLE001 - any other failure: exit 1 with the traceback, as lib.mjs
        import traceback
        fail(f'failed: {"".join(traceback.format_exception(e)).strip()}', 1)
