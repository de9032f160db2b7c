"""Request checks and model-directory checks: no torch needed."""

import pytest

from generations.inference.loader import ModelDirError, check_model_dir, missing_parts
from generations.inference.schema import ApiError, Limits, parse_generation

LIMITS = Limits(max_side=2048)


def test_it_turns_a_request_into_jobs_with_turbo_defaults():
    (job,) = parse_generation({"prompt": "a fox", "size": "1024x768", "seed": 9, "model": "anything"}, LIMITS)
    assert (job.prompt, job.width, job.height, job.steps, job.seed) == ("a fox", 1024, 768, 8, 9)


def test_it_gives_n_images_consecutive_seeds_and_picks_one_when_absent():
    jobs = parse_generation({"prompt": "a fox", "n": 3, "seed": 2**31 - 1, "num_inference_steps": 4}, LIMITS)
    assert [job.seed for job in jobs] == [2**31 - 1, 0, 1] and {job.steps for job in jobs} == {4}
    (job,) = parse_generation({"prompt": "a fox"}, LIMITS)
    assert 0 <= job.seed <= 2**31 - 1 and (job.width, job.height) == (1024, 1024)


@pytest.mark.parametrize(
    "body,param,code",
    [
        ({"prompt": "a", "size": "1000x1024"}, "size", "invalid_size"),
        ({"prompt": "a", "size": "4096x1024"}, "size", "invalid_size"),
        ({"prompt": "a", "size": "big"}, "size", "invalid_size"),
        ({"prompt": "  "}, "prompt", "invalid_parameter"),
        ({"prompt": "a", "seed": -1}, "seed", "invalid_parameter"),
        ({"prompt": "a", "seed": True}, "seed", "invalid_parameter"),
        ({"prompt": "a", "num_inference_steps": 51}, "num_inference_steps", "invalid_parameter"),
        ({"prompt": "a", "n": 5}, "n", "invalid_parameter"),
        ({"prompt": "a", "response_format": "url"}, "response_format", "invalid_parameter"),
        (["not", "an", "object"], "body", "invalid_parameter"),
    ],
)
def test_it_refuses_bad_requests_with_a_400_naming_the_field(body, param, code):
    with pytest.raises(ApiError) as caught:
        parse_generation(body, LIMITS)
    error = caught.value.body()["error"]
    assert caught.value.status == 400 and (error["param"], error["code"]) == (param, code)
    assert error["type"] == "invalid_request_error" and error["message"]


def test_it_names_each_missing_part_of_a_model_directory(tmp_path):
    (tmp_path / "model_index.json").write_text("{}")
    for part, config in [
        ("transformer", "config.json"),
        ("text_encoder", "config.json"),
        ("tokenizer", "tokenizer_config.json"),
        ("scheduler", "scheduler_config.json"),
    ]:
        (tmp_path / part).mkdir()
        (tmp_path / part / config).write_text("{}")
    (tmp_path / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    assert missing_parts(tmp_path) == ["text_encoder/ weights (*.safetensors)", "vae/"]
    with pytest.raises(ModelDirError, match="missing: text_encoder/ weights.*vae/"):
        check_model_dir(str(tmp_path))
    with pytest.raises(ModelDirError, match="does not exist"):
        check_model_dir(str(tmp_path / "nowhere"))
