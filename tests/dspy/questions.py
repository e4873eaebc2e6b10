# ruff: noqa: E501
"""Questions the emulator answers with sources, phrased close to its corpus.

The emulator retrieves on the input fields' values (not DSPy's field markers and format
instructions), like a research model following the prompt; these questions match its
corpus closely, so every answer is grounded.
"""

QUESTION = "How does the DSPy chat adapter render each output field after a marker line?"


# Twenty grounded questions for dspy.Evaluate and dspy.Parallel.
DEV_QUESTIONS = [
    "Every Chat API response carries an interaction_id?",
    "An OpenAI-compatible API accepts the same request and response formats as the OpenAI chat completions endpoint?",
    "LlamaIndex is an open-source Python framework for building applications that connect large language models to data?",
    "A query engine in LlamaIndex takes a question, retrieves nodes from an index and synthesises a response?",
    "DSPy is an open-source framework from Stanford NLP for programming language models instead of hand-writing prompts?",
    "Retrieval-augmented generation, often shortened to RAG, combines a search step with a language model?",
    "BM25 is a ranking function that search engines use to score how well a document matches a keyword query?",
    "A web research agent answers questions by searching the web, reading pages and combining what it finds?",
    "A grounded answer is one whose claims are supported by passages from identifiable sources?",
    "A hallucination is a statement from a language model that sounds plausible but is not supported by facts?",
    "Status codes in the 200 range mean success, the 400 range means a client error and the 500 range means a server error?",
    "JSON is a text format for structured data made of objects, arrays, strings, numbers, booleans and null?",
    "Rate limiting caps how many requests a client may send in a period of time?",
    "Exponential backoff is a retry strategy in which the wait between attempts grows, for example doubling after each failure?",
    "Python is a general-purpose programming language known for readable code and a large standard library?",
    "The asyncio library lets Python run many input and output tasks concurrently in a single thread?",
    "Recorded HTTP tests replay real responses from files instead of calling a live service?",
    "France is a country in Western Europe with a population of about 68 million people?",
    "Kenya is a country in East Africa on the coast of the Indian Ocean?",
    "The Solar System consists of the Sun and the objects that orbit it, including eight planets?",
]
