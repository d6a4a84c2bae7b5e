from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="hf_seq2seq_lstm",
    version="0.1.0",
    description="A Hugging Face-native LSTM/GRU encoder-decoder for Korean-English translation",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["hf_seq2seq_lstm", "hf_seq2seq_lstm.*"]),
    package_data={"hf_seq2seq_lstm": ["sample_data/*", "koen_data/*", "metrics/*/*.py"]},
    install_requires=[
        "torch>=2.1",
        "transformers>=5.24,<6",
        "tokenizers>=0.22,<1",
        "datasets>=4,<6",
        "evaluate>=0.4.6,<0.5",
        "sacrebleu>=2.4,<3",
        "accelerate>=1.10,<2",
        "huggingface_hub>=1.0,<3",
        "safetensors>=0.4",
        "openpyxl>=3.1",
        "pandas>=2",
        "matplotlib>=3.7",
        "tqdm>=4.66",
        "pyyaml>=6",
        "koreanize-matplotlib>=0.1.1,<0.2",  # ships NanumGothic: Korean glyphs offline
    ],
    extras_require={
        "test": ["pytest>=8", "ruff>=0.6"],
        # app.py and its tests: the page, its web font, and Selenium driving Debian's
        # chromium-driver.
        "demo": ["gradio>=6,<7", "fonttools>=4.28,<5", "selenium>=4.20,<5"],
        "bench": ["psutil>=5"],
    },
    entry_points={"console_scripts": ["hf-seq2seq-translate=hf_seq2seq_lstm.cli:main"]},
)
