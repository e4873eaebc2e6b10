"""LlamaIndex's control prompts, answered by the emulator's DEFAULT research responder (issue
24): the router's selector, the sub-question generator and the text-completion program parse
what the emulator answers, with no scripted responder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.base.response.schema import Response
from llama_index.core.program import LLMTextCompletionProgram
from llama_index.core.query_engine import (
    CustomQueryEngine,
    RouterQueryEngine,
    SubQuestionQueryEngine,
)
from llama_index.core.question_gen import LLMQuestionGenerator
from llama_index.core.schema import QueryBundle
from llama_index.core.selectors import LLMSingleSelector
from llama_index.core.tools import QueryEngineTool, ToolMetadata
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from parallel_adapters.llama_index import ParallelLLM
from parallel_adapters.testing import ParallelEmulator


class Country(BaseModel):
    capital: str
    population: int


class _Fixed(CustomQueryEngine):
    """A query engine that says which one it is, so a test sees where the router went."""

    label: str
    says: str

    def custom_query(self, query_str: str) -> str:
        return f"{self.label}: {self.says}"


@pytest.fixture
def emu() -> Iterator[ParallelEmulator]:
    with ParallelEmulator() as emulator:
        yield emulator


def _llm(emu: ParallelEmulator, **options: object) -> ParallelLLM:
    return ParallelLLM(
        model="base",
        api_key="test-key",
        base_url=emu.base_url,
        requests_per_minute=None,
        **options,  # type: ignore[arg-type]
    )


def _tools() -> list[QueryEngineTool]:
    return [
        QueryEngineTool(
            query_engine=_Fixed(label="space", says="The Moon orbits the Earth."),
            metadata=ToolMetadata(name="space", description="Facts about the Moon and planets"),
        ),
        QueryEngineTool(
            query_engine=_Fixed(label="countries", says="Tokyo is the capital of Japan."),
            metadata=ToolMetadata(
                name="countries", description="Facts about countries such as France and Japan"
            ),
        ),
    ]


def test_router_selector_picks_the_fitting_engine(emu: ParallelEmulator) -> None:
    selector = LLMSingleSelector.from_defaults(llm=_llm(emu))
    router = RouterQueryEngine(selector=selector, query_engine_tools=_tools(), llm=_llm(emu))
    response = router.query("What is the capital of France?")
    assert str(response) == "countries: Tokyo is the capital of Japan."
    reason = response.metadata["selector_result"].reasons[0]  # type: ignore[index]
    assert "France" in reason


def test_sub_question_generator_names_real_tools(emu: ParallelEmulator) -> None:
    generator = LLMQuestionGenerator.from_defaults(llm=_llm(emu))
    tools = [tool.metadata for tool in _tools()]
    questions = generator.generate(tools, QueryBundle("What is the capital of Japan?"))
    assert questions
    assert {q.tool_name for q in questions} <= {"space", "countries"}
    assert questions[0].tool_name == "countries"
    assert "Japan" in questions[0].sub_question


def test_sub_question_engine_answers(emu: ParallelEmulator) -> None:
    engine = SubQuestionQueryEngine.from_defaults(
        query_engine_tools=_tools(),
        question_gen=LLMQuestionGenerator.from_defaults(llm=_llm(emu)),
        llm=_llm(emu),
        use_async=False,
    )
    response = engine.query("What is the capital of Japan?")
    assert isinstance(response, Response)
    assert any("countries: Tokyo" in node.text for node in response.source_nodes)
    assert "Tokyo" in str(response)
    assert "Moon" not in str(response)


def test_text_completion_program_fills_the_model(emu: ParallelEmulator) -> None:
    program = LLMTextCompletionProgram.from_defaults(
        output_cls=Country,
        prompt_template_str="What are the capital and population of {country}?",
        llm=_llm(emu),
    )
    assert program(country="France") == Country(capital="Paris", population=68_000_000)


def test_pydantic_program_mode_llm(emu: ParallelEmulator) -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = _llm(emu, pydantic_program_mode=PydanticProgramMode.LLM)
    country = llm.structured_predict(
        Country,
        PromptTemplate("What are the capital and population of {country}?"),
        country="Japan",
    )
    assert country == Country(capital="Tokyo", population=124_000_000)
