"""The dataset card (the Hub repository's README.md), rendered from ``dataset_card.md``.

The template at the top of the repository is Markdown with ``${name}`` placeholders
(:class:`string.Template`; ``$$`` writes a dollar sign). This module fills them from the data:
the YAML header the Hub reads (``configs``, ``dataset_info`` with the features of
:mod:`atari_interleaved.core.features` and the sizes of the parquet shards, licence, task tags),
the commands and settings that made the data (:mod:`atari_interleaved.publishing.provenance`),
a table per game (:mod:`atari_interleaved.publishing.stats`), the schema of each config field
by field, and the preview pictures (:mod:`atari_interleaved.publishing.preview`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import DatasetCardData

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.features import (
    ConfigName,
    dataset_info_features_yaml,
    features,
)
from atari_interleaved.core.layout import format_randomness
from atari_interleaved.core.reference_scores import REFERENCE_CITATION, human_normalised
from atari_interleaved.core.settings import SETTINGS
from atari_interleaved.core.splits import DEFAULT_PLAN, DEFAULT_SPLIT, SplitPlan
from atari_interleaved.publishing.branch_preview import BranchSummary
from atari_interleaved.publishing.preview import PreviewFiles, environment_label
from atari_interleaved.publishing.provenance import Provenance
from atari_interleaved.publishing.stats import DatasetStats, GameStats
from atari_interleaved.storage.parquet_writer import existing_shards
from atari_interleaved.storage.shard_check import open_shard

__all__ = [
    "TEMPLATE_PATH",
    "DEFAULT_PRETTY_NAME",
    "PLACEHOLDER_REPO_ID",
    "DEFAULT_CONFIG",
    "FIELD_DESCRIPTIONS",
    "SplitSize",
    "CardInputs",
    "split_size",
    "split_sizes",
    "card_metadata",
    "PLACEHOLDERS",
    "read_template",
    "check_template",
    "card_values",
    "render_card",
]

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "dataset_card.md"
DEFAULT_PRETTY_NAME = "Atari Interleaved Gameplay"
PLACEHOLDER_REPO_ID = "your-username/atari_interleaved"
DEFAULT_CONFIG: ConfigName = "interleaved"
PLACEHOLDERS = frozenset(
    {
        "yaml", "pretty_name", "repo_id", "num_episodes", "num_frames", "num_games",
        "game_list", "rows_interleaved", "rows_simple", "interleaved_shard", "contact_sheet",
        "animation", "animation_caption", "frameskip", "repeat_action_probability",
        "action_set_note", "tool_version", "commands", "settings_table", "policy_description",
        "ale_py_version", "ale_table", "games_table", "schema_interleaved", "schema_simple",
        "frames_per_env_note", "splits_note", "reference_scores_note", "example_split",
        "branches_section",
    }
)  # fmt: skip
"""The ``${name}`` placeholders a card template may use."""
_TOP_ACTIONS = 6
_EMULATOR_HZ = 60

FIELD_DESCRIPTIONS: dict[ConfigName, dict[str, str]] = {
    "interleaved": {
        "inputs": "The sequence: text entries (game and randomness, episode, then the "
        "lower-case action between consecutive frames) and `image_gen` entries "
        "(`image_index` into `images`). Text entries have `image_index` -1, image entries "
        "`text` null.",
        "images": "The frames of the episode in order (PNG).",
        "images_front": "The first frame (`images[0]`).",
        "environment": "The game's folder name, `atari_<game>` (`atari_alien`).",
        "episode": "The episode's folder name, `episode_<NNN>_rand<r>`.",
        "num_frames": "Number of frames of the episode.",
        "randomness": "Probability of a uniformly random action at each step.",
        "env_id": "The gymnasium environment, `ALE/<Game>-v5`.",
        "seed": "The episode's seed (reset and sticky actions).",
        "actions": "The action index taken at each frame (into the game's action set).",
        "rewards": "The reward of the action taken at each frame.",
        "episode_return": "Sum of `rewards`.",
        "terminated": "The episode ended at game over.",
        "truncated": "ALE's episode length limit cut the episode.",
        "end_reason": "`game_over`, `truncated` or `frame_cap` (the frames-per-episode limit).",
        "applied_actions": "Per frame, the action indices the emulator ran on each of the "
        "`frameskip` emulator frames after it (sticky actions can keep the previous one); "
        "empty for the last frame.",
        "start_actions": "The action indices run on the emulator frames before frame 0 "
        "(no-op starts, `--noop-max`).",
    },
    "simple": {
        "environment": "The game's folder name, `atari_<game>` (`atari_alien`).",
        "episode": "The episode's folder name, `episode_<NNN>_rand<r>`.",
        "frame_number": "Index of the frame in its episode (0 is the screen after reset).",
        "action": "The action taken at this frame (`DOWNRIGHT`).",
        "action_raw": "The action with its index, as in the action files (`8: DOWNRIGHT`).",
        "image": "The frame (PNG).",
        "action_index": "The index of `action` in the game's action set.",
        "is_first": "First frame of its episode.",
        "is_last": "Last frame of its episode.",
        "reward": "The reward of the action taken at this frame.",
        "terminated": "This frame is a game-over frame.",
        "truncated": "ALE's episode length limit cut the episode at this frame.",
        "env_id": "The gymnasium environment, `ALE/<Game>-v5`.",
        "seed": "The episode's seed (reset and sticky actions).",
        "applied_actions": "The action indices the emulator ran on each of the `frameskip` "
        "emulator frames after this frame (empty for the last frame).",
        "start_actions": "The episode's action indices run before frame 0 (no-op starts).",
    },
}


@dataclass(frozen=True)
class SplitSize:
    """The size of a config's split, from its parquet shards' metadata.

    ``num_bytes`` is the uncompressed size of the columns; ``download_size`` the size of the
    files; ``shards`` their paths relative to the folder (POSIX).
    """

    num_examples: int
    num_bytes: int
    download_size: int
    shards: list[str]


@dataclass(frozen=True)
class CardInputs:
    """Everything a card is rendered from.

    ``splits`` holds, per config, the size of each split written (in the plan's order);
    ``split_plan`` says how episodes were assigned (the splits it names that are not in
    ``splits`` are empty).
    """

    repo_id: str
    stats: DatasetStats
    provenance: Provenance
    splits: dict[ConfigName, dict[str, SplitSize]]
    previews: PreviewFiles
    commands: list[str]
    tool_version: str
    pretty_name: str = DEFAULT_PRETTY_NAME
    split_plan: SplitPlan = DEFAULT_PLAN
    branches: BranchSummary | None = None
    """The ``branches`` config's counts and picture, for data sampled with ``--branch-every``."""


def split_size(folder: Path, config_name: ConfigName, split: str = DEFAULT_SPLIT) -> SplitSize:
    """Read the size of ``folder/<config>``'s shards of ``split`` from their parquet metadata."""
    shards = existing_shards(Path(folder) / config_name, split)
    if not shards:
        raise InvalidInputError(f"{str(folder)!r} has no {config_name}/{split}-*.parquet shards")
    examples = num_bytes = download = 0
    for shard in shards:
        meta = open_shard(shard).metadata
        examples += meta.num_rows
        num_bytes += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        download += shard.stat().st_size
    return SplitSize(
        num_examples=examples,
        num_bytes=num_bytes,
        download_size=download,
        shards=[shard.relative_to(folder).as_posix() for shard in shards],
    )


def split_sizes(
    folder: Path, config_name: ConfigName, plan: SplitPlan = DEFAULT_PLAN
) -> dict[str, SplitSize]:
    """Return the size of each split of ``plan`` that ``folder/<config>`` has shards of.

    Raises:
        InvalidInputError: if it has none.

    """
    directory = Path(folder) / config_name
    sizes = {
        split: split_size(folder, config_name, split)
        for split in plan.names
        if existing_shards(directory, split)
    }
    if not sizes:
        raise InvalidInputError(f"{str(folder)!r} has no {config_name}/*.parquet shards")
    return sizes


def _size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    bounds += [(1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    return next((label for bound, label in bounds if rows < bound), "n>100M")


def card_metadata(inputs: CardInputs) -> dict[str, Any]:
    """Return the YAML header of the card as data (what the Hub and ``datasets`` read)."""
    configs = [
        {
            "config_name": name,
            "data_files": [
                {"split": split, "path": f"{name}/{split}-*"} for split in inputs.splits[name]
            ],
            **({"default": True} if name == DEFAULT_CONFIG else {}),
        }
        for name in inputs.splits  # the two configs, and branches when the data has them
    ]
    dataset_info = []
    for name in inputs.splits:
        sizes = inputs.splits[name]
        dataset_info.append(
            {
                "config_name": name,
                "features": dataset_info_features_yaml(name),
                "splits": [
                    {"name": split, "num_bytes": size.num_bytes, "num_examples": size.num_examples}
                    for split, size in sizes.items()
                ],
                "download_size": sum(size.download_size for size in sizes.values()),
                "dataset_size": sum(size.num_bytes for size in sizes.values()),
            }
        )
    data = DatasetCardData(
        pretty_name=inputs.pretty_name,
        license="other",
        language=["en"],
        task_categories=["reinforcement-learning", "image-to-image"],
        tags=["atari", "reinforcement-learning", "world-model", "arcade-learning-environment"]
        + ["gymnasium", "interleaved", "image-text", "video-game"],
        size_categories=[_size_category(_rows(inputs, "simple"))],
        configs=configs,
        dataset_info=dataset_info,
    )
    return data.to_dict()


def _rows(inputs: CardInputs, config_name: ConfigName) -> int:
    return sum(size.num_examples for size in inputs.splits[config_name].values())


def _splits_note(inputs: CardInputs) -> str:
    """Say which splits there are, how episodes were assigned, and which splits are empty."""
    plan = inputs.split_plan
    episodes, frames = inputs.splits["interleaved"], inputs.splits["simple"]
    if plan.is_default:
        return "One split, `train`, holds every episode."
    held = [
        f"`{split}` ({size.num_examples} episodes, {frames[split].num_examples} frames)"
        for split, size in episodes.items()
    ]
    lines = [
        "Splits: " + ", ".join(held) + ". Episodes are assigned whole, by a hash of the game "
        "and the episode's seed, so an episode keeps its split when games or episodes are "
        f"added (`{' '.join(plan.flags())}`)."
    ]
    if plan.test_games:
        games = ", ".join(environment_label(game) for game in plan.test_games)
        lines.append(f"Every episode of {games} is held out in `test`.")
    empty = [split for split in plan.names if split not in episodes]
    if empty:
        names = ", ".join(f"`{split}`" for split in empty)
        lines.append(f"No episode fell in {names}: empty splits are not written.")
    return " ".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _actions_cell(game: GameStats) -> str:
    shares = game.action_shares()
    cells = [f"{action} {share:.0%}" for action, share in shares[:_TOP_ACTIONS]]
    rest = sum(share for _, share in shares[_TOP_ACTIONS:])
    if len(shares) > _TOP_ACTIONS:
        cells.append(f"{len(shares) - _TOP_ACTIONS} others {rest:.0%}")
    return ", ".join(cells)


def _games_table(stats: DatasetStats, provenance: Provenance) -> str:
    """Return the table of games: a row per game, or per game and level when levels mix."""
    mixed = stats.mixes_levels
    figures = (
        [(environment, [format_randomness(level)], game)
         for (environment, level), game in stats.levels.items()]
        if mixed
        else [(environment, [], game) for environment, game in stats.games.items()]
    )  # fmt: skip
    rows = []
    for environment, level, game in figures:
        rom_id = environment.removeprefix("atari_")
        mean = game.mean_return
        ends = ", ".join(f"{count} {reason}" for reason, count in sorted(game.end_reasons.items()))
        rows.append(
            [
                environment_label(environment),
                f"`{provenance.env_ids.get(rom_id, 'unknown')}`",
                *level,
                str(game.episodes),
                str(game.frames),
                "n/a" if mean is None else f"{mean:.1f}",
                _normalised_cell(rom_id, mean),
                ends or "n/a",
                _actions_cell(game),
            ]
        )
    header = ["Game", "Environment", *(["Randomness"] if mixed else []), "Episodes", "Frames",
              "Mean return", "Human-normalised", "Ended by", "Actions"]  # fmt: skip
    return _table(header, rows)


def _normalised_cell(game: str, mean_return: float | None) -> str:
    """Return the human-normalised mean return, a dash for a game without reference scores."""
    normalised = None if mean_return is None else human_normalised(game, mean_return)
    return "-" if normalised is None else f"{normalised:.2f}"


def _type_name(feature: Any) -> str:
    kind = type(feature).__name__
    if isinstance(feature, dict):
        return "{" + ", ".join(f"{k}: {_type_name(v)}" for k, v in feature.items()) + "}"
    if isinstance(feature, list):
        return f"list of {_type_name(feature[0])}"
    if kind in ("List", "Sequence", "LargeList"):
        return f"list of {_type_name(feature.feature)}"
    if kind == "Image":
        return "image"
    return str(getattr(feature, "dtype", kind))


def _schema_table(config_name: ConfigName) -> str:
    descriptions = FIELD_DESCRIPTIONS[config_name]
    rows = []
    for name, feature in features(config_name).items():
        if name not in descriptions:
            raise InvalidArgumentError(
                f"column {name!r} of config {config_name!r} has no description in "
                "atari_interleaved.publishing.card.FIELD_DESCRIPTIONS; add one"
            )
        rows.append([f"`{name}`", f"`{_type_name(feature)}`", descriptions[name]])
    return _table(["Field", "Type", "Description"], rows)


def _settings(provenance: Provenance) -> dict[str, Any]:
    """Return the sampling settings, with "unknown" where the tree does not record them."""
    if provenance.settings is not None:
        return provenance.settings
    unknown: dict[str, Any] = {item.name: "unknown" for item in SETTINGS if not item.ale}
    return {**unknown, "ale": {item.name: "unknown" for item in SETTINGS if item.ale}}


def _setting_rows(
    values: dict[str, Any], *, ale: bool, after: dict[str, list[str]] | None = None
) -> list[list[str]]:
    """Return the card table rows (label, value) of the settings, the ALE ones if ``ale``.

    ``after`` holds, by setting name, a row that follows the row of that setting.
    """
    after = after or {}
    rows = []
    for item in SETTINGS:
        if item.ale == ale:
            rows.append([item.card_label, item.card_value(values[item.name])])
            rows += [after[item.name]] if item.name in after else []
    return rows


def _policy_description(settings: dict[str, Any], planner: str) -> str:
    randomness, policy = settings["randomness"], settings["policy"]
    if isinstance(randomness, (list, tuple)):
        *first, last = (str(level) for level in randomness)
        randomness = f"{', '.join(first)} or {last} (the level of the episode's folder name)"
    if policy == "unknown":
        return "The policy that chose the actions is not recorded (no sampling_config.json)."
    if policy == "repeat":
        base = "otherwise the previous action is repeated (NOOP at the start)"
    elif policy == "search":
        base = (
            "otherwise the built-in planner acts: a search over the emulator's saved states "
            f"(risk-averse Rollout IW(1) over the console's RAM, `{planner or 'unknown'}`) "
            f"simulating about {settings['search_budget']} emulator frames per recorded frame, "
            "with sticky actions and the recorded episode unchanged by its simulations"
        )
    else:
        base = f"otherwise the base policy `{policy}` acts"
    return (
        f"At each step, with probability {randomness} the action is drawn uniformly from the "
        f"game's action set; {base}."
    )


def _action_set_note(full_action_space: bool | str) -> str:
    if full_action_space is True:
        return (
            "Every game uses the full set of 18 actions, most of which do the same as others "
            "in a given game."
        )
    return (
        "Actions come from each game's minimal action set, so an action index means "
        "different things in different games; use the `action` text (or `action_raw`) "
        "rather than the index across games."
    )


def _versions(provenance: Provenance, package: str) -> str:
    found = sorted({versions.get(package, "unknown") for versions in provenance.sampling_versions})
    return ", ".join(found) if found else "unknown"


def _example_split(inputs: CardInputs) -> str:
    """Return the split the card's loading examples read: ``train``, else the first one."""
    splits = list(inputs.splits["interleaved"])
    return DEFAULT_SPLIT if DEFAULT_SPLIT in splits or not splits else splits[0]


def card_values(inputs: CardInputs) -> dict[str, str]:
    """Return the value of every placeholder of :data:`PLACEHOLDERS` for ``inputs``."""
    stats, provenance = inputs.stats, inputs.provenance
    settings = _settings(provenance)
    ale = settings["ale"]
    frameskip = ale["frameskip"]
    frame_cap = settings["frame_cap"]
    frames_note = (
        f"at most {frame_cap} frames, {frame_cap * frameskip / _EMULATOR_HZ:.0f} seconds of play"
        if isinstance(frame_cap, int) and isinstance(frameskip, int)
        else "see the table of games"
    )
    rows = _setting_rows(
        settings,
        ale=False,
        after={
            "frame_cap": ["Episodes per game (`--max-episodes`)", str(provenance.max_episodes)],
            "policy": ["Planner", f"`{provenance.planner}`" if provenance.planner else "none"],
        },
    )
    settings_table = _table(["Parameter", "Value"], rows)
    ale_table = _table(
        ["Setting", "Value"],
        [
            *_setting_rows(ale, ale=True),
            ["Observation", "210x160 RGB screen, stored as a palette PNG"],
            ["ale-py / gymnasium", f"{_versions(provenance, 'ale-py')} / "
             f"{_versions(provenance, 'gymnasium')}"],
        ],
    )  # fmt: skip
    games = [environment_label(environment) for environment in stats.games]
    sample = provenance.sample_command() or (
        "# the frames were sampled by another tool (the tree has no sampling_config.json)"
    )
    return {
        "yaml": yaml.safe_dump(card_metadata(inputs), sort_keys=False, allow_unicode=True),
        "pretty_name": inputs.pretty_name,
        "repo_id": inputs.repo_id,
        "num_episodes": str(stats.episodes),
        "num_frames": str(stats.frames),
        "num_games": str(len(stats.games)),
        "game_list": ", ".join(games),
        "rows_interleaved": str(_rows(inputs, "interleaved")),
        "rows_simple": str(_rows(inputs, "simple")),
        "interleaved_shard": next(iter(inputs.splits["interleaved"].values())).shards[0],
        "splits_note": _splits_note(inputs),
        "example_split": _example_split(inputs),
        "contact_sheet": inputs.previews.contact_sheet,
        "animation": inputs.previews.animation,
        "animation_caption": inputs.previews.animation_caption,
        "frameskip": str(frameskip),
        "repeat_action_probability": str(ale["repeat_action_probability"]),
        "action_set_note": _action_set_note(ale["full_action_space"]),
        "tool_version": inputs.tool_version,
        "commands": "\n".join([sample, *inputs.commands]),
        "settings_table": settings_table,
        "policy_description": _policy_description(settings, provenance.planner),
        "ale_py_version": _versions(provenance, "ale-py"),
        "ale_table": ale_table,
        "games_table": _games_table(stats, provenance),
        "schema_interleaved": _schema_table("interleaved"),
        "schema_simple": _schema_table("simple"),
        "frames_per_env_note": frames_note,
        "reference_scores_note": REFERENCE_CITATION,
        "branches_section": _branches_section(inputs),
    }


def _branches_section(inputs: CardInputs) -> str:
    """Return the card's paragraph on the ``branches`` config ("" for data without)."""
    branches = inputs.branches
    if branches is None:
        return ""
    lines = [
        f"- `branches`: what every other action would have shown, one row per (episode, "
        f"frame, action, step), {branches.frames} rows at {branches.points} branch points "
        f"(`--branch-every {branches.every} --branch-steps {branches.steps}`). At every "
        f"{branches.every}-th frame the emulator's state was restored and each action of the "
        f"game's action set held for up to {branches.steps} frames, with the reward, lives, "
        "game end and the actions ALE applied; the episodes themselves are unchanged, and "
        "the branch of the action taken is the episode's own next frames whenever the same "
        "actions were applied.",
    ]
    if branches.picture:
        lines += ["", f"![{branches.caption}]({branches.picture})", "", f"*{branches.caption}.*"]
    return "\n".join(lines)


def read_template(path: Path | None = None) -> str:
    """Read a card template (``dataset_card.md`` of the repository by default).

    Raises:
        InvalidInputError: if the file cannot be read.

    """
    path = TEMPLATE_PATH if path is None else Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInputError(
            f"cannot read the dataset card template {str(path)!r} ({error.strerror}); "
            "give one with --card-template"
        ) from error


def check_template(template: str) -> str:
    """Return ``template`` if it only uses known placeholders and ``$$`` for a dollar sign.

    Raises:
        InvalidArgumentError: naming the first unknown placeholder or stray ``$``.

    """
    for match in string.Template.pattern.finditer(template):
        name = match.group("named") or match.group("braced")
        if match.group("invalid") is not None:
            line = template.count("\n", 0, match.start()) + 1
            raise InvalidArgumentError(
                f"the card template has a stray '$' on line {line}; write '$$' for a dollar sign"
            )
        if name is not None and name not in PLACEHOLDERS:
            raise InvalidArgumentError(
                f"the card template uses the unknown placeholder ${{{name}}}; known: "
                + ", ".join(sorted(PLACEHOLDERS))
            )
    return template


def render_card(inputs: CardInputs, template: str | None = None) -> str:
    """Render the card from ``template`` (the text of ``dataset_card.md`` by default).

    Raises:
        InvalidArgumentError: if the template uses an unknown placeholder or a stray ``$``.

    """
    text = check_template(read_template() if template is None else template)
    return string.Template(text).substitute(card_values(inputs))
