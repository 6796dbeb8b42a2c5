/*
 * 03_model_profile.h -- where a GPU training step's time goes (bench --profile).
 *
 * With g_profile set, RUN_ON_GPU (03_model_device.h) waits for the GPU
 * before and after each layer and adds the time to that layer's row: one row
 * per layer function, named by its GPU call as written, e.g.
 * "gelu_forward_gpu(out, inp, N)". The waits expose each launch's latency,
 * so a profiled step runs a little longer than a plain one; the shares are
 * what to read. Included by 03_model_device.h.
 */
#ifndef MODEL_PROFILE_H
#define MODEL_PROFILE_H

typedef struct {
    const char *call;
    double seconds;
    long calls;
} LayerTime;
#define MAX_PROFILED 32
static LayerTime g_layer_times[MAX_PROFILED];
static int g_profile = 0, g_n_layer_times = 0;

static inline double profile_start(void) {
    if (!g_profile) return 0.0;
    device_sync();
    return now_seconds();
}

static inline void profile_stop(const char *call, double t0) {
    if (!g_profile) return;
    device_sync();
    int k = 0;
    while (k < g_n_layer_times && g_layer_times[k].call != call) k++;
    if (k == MAX_PROFILED) return;
    if (k == g_n_layer_times) g_layer_times[g_n_layer_times++].call = call;
    g_layer_times[k].seconds += now_seconds() - t0;
    g_layer_times[k].calls++;
}

#endif /* MODEL_PROFILE_H */
