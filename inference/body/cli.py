"""`python -m inference body ...`: build the open body, convert SMPL files (filled in by the Body issue)."""


def add_arguments(parser):
    sub = parser.add_subparsers(dest="body_command", metavar="ACTION")
    sub.add_parser("info", help="print the body model's size: vertices, faces, shape components")


def run(args) -> int:
    from .tiny import tiny_model

    data = tiny_model()
    print(f"{data.name}: {data.num_vertices} vertices, {len(data.f)} faces, {data.num_betas} shape components")
    return 0
