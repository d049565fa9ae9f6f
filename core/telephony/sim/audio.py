"""The sound of the simulated carrier: recordings' files (speech from espeak-ng where installed,
else a tone) and how long speech and audio last."""

import array
import logging
import math
import shutil
import subprocess
import wave
from pathlib import Path

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000  # Twilio records telephone audio: 8 kHz, 16-bit, mono
#: What the simulated caller says when espeak-ng can say it.
MESSAGE = (
    "Здравствуйте. Это голосовое сообщение на горячую линию губернатора. "
    "Во дворе дома номер пять прорвало трубу, перезвоните, пожалуйста."
)
#: Seconds a `<Play>` lasts (the carrier does not fetch audio).
PLAY_SECONDS = 5


def say_seconds(text: str) -> int:
    """Estimate how long text-to-speech takes to say `text`."""
    return max(1, round(len(text) / 15))


def sim_recordings_dir(instance_path: str) -> str:
    """Return the folder of the simulated carrier's recordings under the app's instance folder."""
    return str(Path(instance_path) / "sim-recordings")


def sim_recording_path(folder: str, sid: str) -> Path:
    """Return the WAV file of the simulated recording `sid`."""
    return Path(folder) / f"{sid}.wav"


def write_voice_message(path: Path, seconds: int) -> Path:
    """Write a WAV file of a caller's message lasting about `seconds` (at least one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _speak(path):
        write_tone(path, max(1, seconds))
    return path


def write_tone(path: Path, seconds: int, frequency: float = 440.0) -> None:
    """Write `seconds` of a quiet sine tone as 8 kHz 16-bit mono WAV."""
    one_second = array.array(
        "h",
        (
            int(6000 * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE))
            for n in range(SAMPLE_RATE)
        ),
    ).tobytes()
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE)
        audio.writeframes(one_second * seconds)


def _speak(path: Path) -> bool:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return False
    try:
        subprocess.run(
            [espeak, "-v", "ru", "-w", str(path), MESSAGE],
            check=True,
            timeout=20,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("espeak-ng could not say the voice message (%s): a tone instead", error)
        return False
    return path.exists() and path.stat().st_size > 44
