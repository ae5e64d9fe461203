"""Weight clustering: every kernel takes at most N distinct values (per tensor, or per output channel
for Conv2D), keeping the zeros of an earlier pruning step. The flash saving becomes real only when the
weights are stored as indices plus a codebook (packing.py); the .tflite itself still holds int8 values."""

from __future__ import annotations

from tinyc.errors import TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import fresh_copy, tf_stack
from tinyc.optimize.train import fit


def cluster(model, n_clusters: int, train: Dataset, epochs: int, per_channel: bool = True,
            preserve_sparsity: bool = False, progress=None):
    """Cluster Conv2D/Dense kernels that are big enough to gain from it, then fine-tune the centroids.

    A layer whose channels hold fewer weights than ``4 * n_clusters`` is left alone: a codebook would cost
    more than it saves, and k-means cannot place that many centroids.
    """
    if not (2 <= n_clusters <= 256):
        raise TinycError(f"--cluster {n_clusters} is impossible: give a number of clusters from 2 to 256")
    s = tf_stack()
    cl = s.tfmot.clustering.keras
    base = fresh_copy(model)
    chosen = []

    def wrap(layer):
        kind = type(layer).__name__
        if kind not in ("Conv2D", "Dense"):
            return layer
        kernel = layer.get_weights()[0]
        chan = kind == "Conv2D" and per_channel
        per = kernel.size // kernel.shape[-1] if chan else kernel.size
        if per < 4 * n_clusters:
            return layer
        chosen.append(layer.name)
        params = dict(number_of_clusters=n_clusters,
                      cluster_centroids_init=cl.CentroidInitialization.KMEANS_PLUS_PLUS,
                      preserve_sparsity=preserve_sparsity)
        if chan:
            params["cluster_per_channel"] = True
        return cl.cluster_weights(layer, **params)

    try:
        wrapped = s.keras.models.clone_model(base, clone_function=wrap)
    except Exception as exc:
        raise TinycError(f"clustering cannot wrap this model: {str(exc).splitlines()[0][:200]}") from None
    if not chosen:
        raise TinycError(f"--cluster {n_clusters}: no Conv2D/Dense layer has enough weights per "
                         f"{'channel' if per_channel else 'tensor'} to cluster ({4 * n_clusters} needed)")
    fit(wrapped, train, epochs, f"cluster {n_clusters}", progress=progress, lr=2e-4)
    return fresh_copy(cl.strip_clustering(wrapped)), tuple(chosen)
