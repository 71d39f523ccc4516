"""Faces for the rendered people: eyes, lashes, eyebrows, lips and nostrils as materials per mesh face.

A blank head reads as the back of a head: MediaPipe took people facing the camera of the first rendered
held-out set for people seen from behind. The features are picked per face of the open body's mesh from its
REST-pose shape relative to the head joint (the face looks along +Z, the body's left is +X), so they follow the
mesh's topology on any shape: the eyeballs and the mouth's inside are the mesh's own small separate pieces; the
brows, lips and nostrils are regions drawn in the head's (x, y) plane on its front; the lashes a rim around each
eyeball. Per face is fine enough: the head's faces are ~4 mm (finer at the eyes and lips), a pixel at 512 px ~5 mm.

`face_features` needs numpy only (tested without Blender); `face_materials` builds the Blender materials.
"""

from __future__ import annotations

import numpy as np

NONE, EYE_WHITE, IRIS, BROW, LIPS, NOSTRIL, LASHES = range(7)
LABELS = ("none", "eye_white", "iris", "brow", "lips", "nostril", "lashes")
IRIS_DEG = 28.0  # eyeball faces whose centre is this close to the gaze (+Z) from the ball's centre: the iris
PIECE_MAX_VERTS = 1000  # the eyeballs and the mouth's inside: separate pieces far smaller than the body


def mesh_pieces(faces, n_verts):
    """Connected piece of each vertex → (count, label [V])."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    r = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    c = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    return connected_components(coo_matrix((np.ones(len(r)), (r, c)), shape=(n_verts, n_verts)), directed=False)


def brow_band(ax):
    """The eyebrow's lower edge and thickness (m, head frame) at |x| = `ax`: an arch above each eye, thick
    inside, thin outside."""
    t = np.clip((ax - 0.012) / 0.042, 0.0, 1.0)  # 0 at the inner end, 1 at the outer end
    lower = 0.0555 + 0.006 * np.sin(np.pi * np.minimum(t * 1.25, 1.0)) - 0.004 * t
    return lower, 0.0085 - 0.004 * t


def lip_band(x):
    """The lips' upper and lower edges (m, head frame) at `x` (nan outside the mouth's width): the upper lip
    with a Cupid's bow, both meeting at the corners."""
    half = 0.0245
    s = np.clip(np.abs(x) / half, 0.0, 1.0)
    line = -0.0345 + 0.0025 * s ** 2  # the mouth's line, the corners a little up
    upper = line + 0.0095 * np.sqrt(1 - s ** 2) * (1 - 0.25 * np.exp(-(x / 0.004) ** 2))
    lower = line - 0.0105 * (1 - s ** 2) ** 0.6
    out = np.abs(x) >= half
    return np.where(out, np.nan, upper), np.where(out, np.nan, lower)


def face_features(shaped, joints, faces, head_joint: int):
    """Feature label per face (NONE, EYE_WHITE, IRIS, BROW, LIPS, NOSTRIL, LASHES) of the body `faces` from its
    rest-pose vertices `shaped` [V,3] and `joints` [24,3] (metres, Y up, the face toward +Z)."""
    v = shaped - joints[head_joint]
    label = np.full(len(faces), NONE, np.int64)
    count, piece = mesh_pieces(faces, len(v))
    sizes = np.bincount(piece, minlength=count)
    face_piece = piece[faces[:, 0]]
    centre = v[faces].mean(1)
    balls = []
    for k in np.flatnonzero(sizes < PIECE_MAX_VERTS):
        pv = v[piece == k]
        mid = (pv.min(0) + pv.max(0)) / 2
        on = face_piece == k
        if abs(mid[0]) > 0.01 and mid[1] > 0.0:  # an eyeball (off the mid-plane, above the head joint)
            d = centre[on] - mid
            ang = np.degrees(np.arccos(np.clip(d[:, 2] / np.linalg.norm(d, axis=1), -1, 1)))
            label[np.flatnonzero(on)] = np.where(ang < IRIS_DEG, IRIS, EYE_WHITE)
            balls.append((mid, np.linalg.norm(pv - mid, axis=1).max()))
        elif abs(mid[0]) <= 0.01 and mid[1] < 0.0:  # the mouth's inside (teeth, tongue): dark like the lips
            label[on] = LIPS
    skin = sizes[face_piece] >= PIECE_MAX_VERTS
    tri = v[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    x, y, z = centre.T
    front = skin & (z > 0.04) & (normal[:, 2] > 0.2)
    lower, thick = brow_band(np.abs(x))
    label[front & (np.abs(x) > 0.012) & (np.abs(x) < 0.056) & (y > lower) & (y < lower + thick)] = BROW
    upper, bottom = lip_band(x)
    with np.errstate(invalid="ignore"):
        label[front & (y < upper) & (y > bottom)] = LIPS
    # the lid's rim where it meets the eyeball (lashes, shadow): what makes an eye read as one from afar
    for mid, radius in balls:
        d = centre - mid
        near = np.linalg.norm(d, axis=1) < radius + np.where(d[:, 1] > 0, 0.0025, 0.001)  # the upper lid darker
        label[front & near & (d[:, 2] > 0.004) & (label == NONE)] = LASHES
    # the nostrils: the underside of the nose beside its middle (faces looking down)
    label[skin & (np.abs(x) > 0.005) & (np.abs(x) < 0.014) & (y > -0.008) & (y < 0.0) & (z > 0.09)
          & (normal[:, 1] < -0.6)] = NOSTRIL
    return label


def face_colours(skin, hair, rng):
    """RGB per feature label (index = label; NONE unused) for a person of `skin` and `hair` colour, from `rng`
    (a stream of its own: the rest of the scene does not change)."""
    iris = rng.uniform(0.02, 0.25) * np.array([1.0, rng.uniform(0.6, 1.0), rng.uniform(0.3, 0.9)])
    white = np.array([0.85, 0.83, 0.8]) * rng.uniform(0.8, 1.0)
    brow = np.asarray(hair) * rng.uniform(0.6, 1.0)
    lips = np.asarray(skin) * np.array([0.9, 0.55, 0.55]) * rng.uniform(0.7, 0.95)
    nostril = np.asarray(skin) * 0.55  # a slight shade: the openings' own shadow does the rest
    lashes = 0.5 * np.asarray(hair) + 0.2 * np.asarray(skin)
    return np.clip(np.stack([skin, white, iris, brow, lips, nostril, lashes]), 0, 1)


def face_materials(colours):
    """Blender materials for the labels after NONE, in their order."""
    import synthetic_scene

    rough = {EYE_WHITE: 0.25, IRIS: 0.15, BROW: 0.8, LIPS: 0.45, NOSTRIL: 0.7, LASHES: 0.7}
    return [synthetic_scene.principled(f"Face {LABELS[k]}", colours[k], rough[k])[0] for k in range(1, len(LABELS))]
