"""HTTP shapes (pydantic). Domain records stay dataclasses in corpus/."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class TagPublic(BaseModel):
    theme: str
    score: float
    source: str
    evidence: list[str]


class HitPublic(BaseModel):
    testimony_id: str
    passage_id: int
    start: float | None
    end: float | None
    text: str
    score: float
    region: str
    community: str
    language: str
    date: str
    title: str
    themes: list[str]
    audio_url: str | None  # with a #t=start fragment: plays from the passage


class SearchResponse(BaseModel):
    query: str
    hits: list[HitPublic]


class TestimonySummary(BaseModel):
    id: str
    title: str
    region: str
    community: str
    date: str
    language: str
    duration: float | None
    consent: str
    source_kind: str
    illustrative: bool


class TestimonyList(BaseModel):
    total: int
    items: list[TestimonySummary]


class PassagePublic(BaseModel):
    id: int
    seq: int
    start: float | None
    end: float | None
    text: str
    tags: list[TagPublic]


class TestimonyThemePublic(BaseModel):
    theme: str
    score: float
    passages: list[int]  # supporting passage ids, strongest first
    reviewed: bool


class TestimonyPublic(TestimonySummary):
    language_probability: float | None
    audio_url: str | None
    themes: list[TestimonyThemePublic]
    passages: list[PassagePublic]


class ReviewCreate(BaseModel):
    theme: str
    verdict: Literal["accept", "reject", "add"]
    reviewer: str = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=2000)


class ReviewPublic(BaseModel):
    passage_id: int
    theme: str
    verdict: str
    reviewer: str
    note: str
    reviewed_at: str


class PassageDetail(PassagePublic):
    testimony_id: str
    reviews: list[ReviewPublic]


class SimilarPublic(BaseModel):
    testimony_id: str
    title: str
    region: str
    community: str
    language: str
    score: float
    passage: HitPublic


class SimilarResponse(BaseModel):
    testimony_id: str
    similar: list[SimilarPublic]


class ThemeInfo(BaseModel):
    id: str
    label: dict[str, str]
    description: dict[str, str]
    definition: dict[str, str]
    subthemes: dict[str, str]
    parent: str | None


class ThemeCount(BaseModel):
    theme: str
    group: str
    testimonies: int
    passages: int


class ThemesResponse(BaseModel):
    version: str
    themes: list[ThemeInfo]
    by: str | None
    counts: list[ThemeCount]


class Health(BaseModel):
    status: str
    testimonies: int
    passages: int
    indexed: int
    embedder: str
    taxonomy_version: str
