// Times shap's own C++ TreeSHAP (dense_tree_shap, identity transform = raw margin, single thread) on a model
// exported by export-model.ts. shap's tree_shap.h is NOT part of this repository: pass the folder holding it with
// -I (see run.sh).
//
//   harness MODEL.bin [rows] [out.bin] [--mode=path|interventional|interactions] [--bg=BG.bin] [--zero-cover=eps|keep]
//
// Modes (shap's FEATURE_DEPENDENCE / interactions flag, as shap's TreeExplainer passes them):
//   path (default)  tree_path_dependent, interactions=false; out.bin float64 [rows][features + 1]
//                   (last column = expected value).
//   interventional  independent, interactions=false, background R = BG.bin (float64 [nBg][features], default
//                   MODEL.bg.bin as export-model.ts writes it; R_missing = isnan(R), num_R = nBg, as shap's Python
//                   passes self.data / self.data_missing); out.bin float64 [rows][features + 1]. Covers and
//                   internal node values are not used by this algorithm.
//   interactions    tree_path_dependent, interactions=true; out.bin float64 [rows][features + 1][features + 1]
//                   (diagonal = main effects, [M][M] = expected value).
//
// Prints one line: model, mode, trees, leaves, max depth, rows, seconds (best of 3 after a warm-up), rows/s, ms per
// row and (path mode) ns per (tree x leaf x depth x row) = seconds / (leaves * max_depth * rows), leaves = total
// over all trees. With out.bin (not under /dev/), also writes the seconds to out.bin.seconds.
//
// Zero covers: covers come from withCovers (data rows that reach each node), and many nodes get 0. shap's
// recursion divides by a node's cover (0/0 = NaN) and does not skip zero-fraction children, so raw zero covers
// turn every SHAP value NaN. With --zero-cover=eps (default) a zero-cover child of a covered node gets cover 1e-100
// and the nodes below it halve it per level (see fixCovers): shap does the same work either way (it visits those
// nodes regardless), the values match ours (zero-fraction entry, 1/2 : 1/2 inside an uncovered subtree) to
// O(1e-100), and the comparison becomes meaningful. (Interventional mode never reads covers.)

#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

// tree_shap.h calls the CPython API in print_progress_bar (used only by the independent algorithm);
// shap's _cext.cc includes Python.h first. Inert stand-ins so the header compiles without Python.
struct PyObject;
static inline int PySys_WriteStderr(const char *, ...) { return 0; }
static inline PyObject *PySys_GetObject(const char *) { return nullptr; }
static inline PyObject *PyObject_CallMethod(PyObject *, const char *, const char *, ...) { return nullptr; }
#define Py_XDECREF(o) ((void)(o))

#include "tree_shap.h"

template <typename T>
static void readArr(FILE *f, T *dst, size_t n, const char *what) {
    if (fread(dst, sizeof(T), n, f) != n) {
        fprintf(stderr, "short read: %s\n", what);
        exit(1);
    }
}

// Zero covers below node `node` (cover already set): a zero-cover child of a covered node gets 1e-100, and
// below that both children of a zero-cover node get half its cover, so shap's cover ratios are 1e-100 on entry
// and 1/2 : 1/2 inside (the convention our prepared fractions use for children that both have zero cover).
static void fixCovers(const int *cl, const int *cr, double *w, int node, bool zeroRegion, long &changed) {
    if (cl[node] < 0) return;
    const int kids[2] = {cl[node], cr[node]};
    for (int c : kids) {
        bool z = zeroRegion;
        if (w[c] == 0) {
            w[c] = zeroRegion ? w[node] / 2 : 1e-100;
            z = true;
            ++changed;
        }
        fixCovers(cl, cr, w, c, z, changed);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.bin [rows] [out.bin] [--mode=path|interventional|interactions] [--bg=BG.bin] [--zero-cover=eps|keep]\n", argv[0]);
        return 2;
    }
    std::vector<std::string> pos;
    bool epsCovers = true;
    std::string mode = "path", bgPath;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--zero-cover=keep") epsCovers = false;
        else if (a == "--zero-cover=eps") epsCovers = true;
        else if (a.rfind("--mode=", 0) == 0) mode = a.substr(7);
        else if (a.rfind("--bg=", 0) == 0) bgPath = a.substr(5);
        else if (a.rfind("--", 0) == 0) { fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
        else pos.push_back(a);
    }
    if (mode != "path" && mode != "interventional" && mode != "interactions") {
        fprintf(stderr, "unknown mode %s (path|interventional|interactions)\n", mode.c_str());
        return 2;
    }
    const bool interventional = mode == "interventional", interactions = mode == "interactions";
    const std::string path = pos[0];
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) { perror(path.c_str()); return 1; }
    char magic[8];
    readArr(f, magic, 8, "magic");
    if (memcmp(magic, "SHAPDNS1", 8) != 0) { fprintf(stderr, "bad magic\n"); return 1; }
    int32_t h[7];
    readArr(f, h, 7, "header");
    const unsigned nTrees = h[0], maxNodes = h[1], M = h[2], nOut = h[3], nRowsFile = h[4], exportDepth = h[5];
    const long leaves = h[6];
    const size_t sz = size_t(nTrees) * maxNodes;
    std::vector<double> base(nOut);
    std::vector<int> cl(sz), cr(sz), cd(sz), feat(sz), ttypes(sz, 0);
    std::vector<double> thr(sz), val(sz * nOut), w(sz);
    std::vector<double> X(size_t(nRowsFile) * M);
    readArr(f, base.data(), nOut, "base");
    readArr(f, cl.data(), sz, "children_left");
    readArr(f, cr.data(), sz, "children_right");
    readArr(f, cd.data(), sz, "children_default");
    readArr(f, feat.data(), sz, "features");
    readArr(f, thr.data(), sz, "thresholds");
    readArr(f, val.data(), sz * nOut, "values");
    readArr(f, w.data(), sz, "node_sample_weights");
    readArr(f, X.data(), X.size(), "X");
    fclose(f);

    const unsigned nRows = pos.size() > 1 ? std::min<unsigned>(std::stoul(pos[1]), nRowsFile) : nRowsFile;
    std::string model = path.substr(path.find_last_of('/') + 1);
    if (model.size() > 4 && model.compare(model.size() - 4, 4, ".bin") == 0) model.resize(model.size() - 4);

    long changed = 0;
    if (epsCovers) for (unsigned t = 0; t < nTrees; ++t) fixCovers(&cl[t * maxNodes], &cr[t * maxNodes], &w[t * maxNodes], 0, w[t * maxNodes] == 0, changed);

    // As shap's SingleTree: internal node values = cover-weighted means (compute_expectations), ensemble
    // max_depth = max over trees.
    TreeEnsemble trees(cl.data(), cr.data(), cd.data(), feat.data(), thr.data(), ttypes.data(), val.data(), w.data(),
                       0, nTrees, base.data(), maxNodes, nOut);
    unsigned maxDepth = 0;
    for (unsigned t = 0; t < nTrees; ++t) {
        TreeEnsemble tree;
        trees.get_tree(tree, t);
        maxDepth = std::max<unsigned>(maxDepth, compute_expectations(tree));
    }
    trees.max_depth = maxDepth;
    if (maxDepth != exportDepth) fprintf(stderr, "note: depth %u (structure) vs %u (export)\n", maxDepth, exportDepth);

    bool *Xmiss = new bool[size_t(nRows) * M];
    for (size_t i = 0; i < size_t(nRows) * M; ++i) Xmiss[i] = std::isnan(X[i]);

    // Background (interventional): float64 [nBg][M], missing = NaN.
    std::vector<double> R;
    std::unique_ptr<bool[]> Rmiss;
    unsigned nBg = 0;
    if (interventional) {
        if (bgPath.empty()) bgPath = path.substr(0, path.size() - (path.size() > 4 && path.compare(path.size() - 4, 4, ".bin") == 0 ? 4 : 0)) + ".bg.bin";
        FILE *b = fopen(bgPath.c_str(), "rb");
        if (!b) { perror(bgPath.c_str()); return 1; }
        fseek(b, 0, SEEK_END);
        const long bytes = ftell(b);
        fseek(b, 0, SEEK_SET);
        if (bytes <= 0 || bytes % long(sizeof(double) * M) != 0) { fprintf(stderr, "%s: size %ld is not a multiple of %u float64\n", bgPath.c_str(), bytes, M); return 1; }
        nBg = unsigned(bytes / long(sizeof(double) * M));
        R.resize(size_t(nBg) * M);
        readArr(b, R.data(), R.size(), "background");
        fclose(b);
        Rmiss.reset(new bool[R.size()]);
        for (size_t i = 0; i < R.size(); ++i) Rmiss[i] = std::isnan(R[i]);
    }
    ExplanationDataset data(X.data(), Xmiss, nullptr, interventional ? R.data() : nullptr, interventional ? Rmiss.get() : nullptr, nRows, M, nBg);
    const size_t rowSize = size_t(M + 1) * (interactions ? M + 1 : 1) * nOut;
    std::vector<double> out(size_t(nRows) * rowSize);
    const int dependence = interventional ? FEATURE_DEPENDENCE::independent : FEATURE_DEPENDENCE::tree_path_dependent;

    auto run = [&]() {
        std::fill(out.begin(), out.end(), 0.0);
        const auto t0 = std::chrono::steady_clock::now();
        dense_tree_shap(trees, data, out.data(), dependence, MODEL_TRANSFORM::identity, interactions);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    run(); // warm-up
    double best = 1e300;
    for (int k = 0; k < 3; ++k) best = std::min(best, run());

    const double unit = double(leaves) * maxDepth * nRows;
    if (mode == "path") {
        printf("%-22s trees %4u  leaves %6ld  depth %2u  rows %5u  seconds %8.4f  rows/s %9.1f  ns/(tree*leaf*depth*row) %6.3f  covers->eps %ld\n",
               model.c_str(), nTrees, leaves, maxDepth, nRows, best, nRows / best, best * 1e9 / unit, changed);
    } else {
        printf("%-22s %-14s trees %4u  leaves %6ld  depth %2u  rows %5u%s  seconds %8.4f  rows/s %9.2f  ms/row %9.3f  covers->eps %ld%s\n",
               model.c_str(), mode.c_str(), nTrees, leaves, maxDepth, nRows,
               interventional ? ("  bg " + std::to_string(nBg)).c_str() : "", best, nRows / best, best * 1e3 / nRows, changed,
               interventional ? " (unused)" : "");
    }

    if (pos.size() > 2) {
        FILE *o = fopen(pos[2].c_str(), "wb");
        if (!o) { perror(pos[2].c_str()); return 1; }
        fwrite(out.data(), sizeof(double), out.size(), o);
        fclose(o);
        if (pos[2].rfind("/dev/", 0) != 0) {
            FILE *so = fopen((pos[2] + ".seconds").c_str(), "w");
            if (!so) { perror((pos[2] + ".seconds").c_str()); return 1; }
            fprintf(so, "%.9g\n", best);
            fclose(so);
        }
    }
    delete[] Xmiss;
    return 0;
}
