"""Tests for recmesh.data.movielens_csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.data.errors import DataFormatError
from recmesh.data.movielens_csv import load_movielens_csv
from recmesh.files.repo_paths import SHARED_DATA_DIR

ML_LATEST_SMALL = SHARED_DATA_DIR / "ml-latest-small"

MOVIES = (
    "movieId,title,genres\r\n"
    '11,"American President, The (1995)",Comedy|Drama|Romance\r\n'
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
    "176601,Black Mirror,(no genres listed)\r\n"
)
RATINGS = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n2,11,0.5,964981247\r\n"


def _write(directory: Path, ratings: str = RATINGS, movies: str = MOVIES) -> Path:
    (directory / "ratings.csv").write_bytes(ratings.encode("utf-8"))
    (directory / "movies.csv").write_bytes(movies.encode("utf-8"))
    return directory


def test_ml_latest_small_has_the_published_counts() -> None:
    """The shared ml-latest-small gives 100,836 ratings, 610 users, 9,724 rated items."""
    if not (ML_LATEST_SMALL / "ratings.csv").is_file():
        pytest.skip(f"real-data test: {ML_LATEST_SMALL} is absent (MovieLens ml-latest-small)")
    dataset = load_movielens_csv(ML_LATEST_SMALL)
    assert dataset.name == "ml-latest-small"
    assert len(dataset.interactions) == 100_836
    assert dataset.interactions.n_users == 610
    assert dataset.interactions.n_items == 9_724
    assert dataset.items.item_ids.shape == (9_742,)
    assert dataset.users is None
    assert "(no genres listed)" not in dataset.items.genre_names


def test_quoted_titles_years_and_genres_are_parsed(tmp_path: Path) -> None:
    """Quoted titles keep commas, years come from `(1995)`, genres become 0/1 columns."""
    dataset = load_movielens_csv(_write(tmp_path), name="tiny")
    items = dataset.items
    assert dataset.name == "tiny"
    assert items.item_ids.tolist() == [1, 11, 176601]
    assert items.titles[1] == "American President, The (1995)"
    assert items.years.tolist() == [1995, 1995, 0]
    assert items.genre_names == (
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Drama",
        "Fantasy",
        "Romance",
    )
    assert items.genres[2].sum() == 0
    assert [items.genre_names[j] for j in items.genres[1].nonzero()[0]] == [
        "Comedy",
        "Drama",
        "Romance",
    ]
    assert dataset.interactions.ratings.tolist() == [4.0, 0.5]


def test_rating_of_a_movie_missing_from_movies_csv_is_reported(tmp_path: Path) -> None:
    """Every rating must name a movie of movies.csv."""
    ratings = RATINGS + "3,999,3.0,964981248\r\n"
    with pytest.raises(DataFormatError) as caught:
        load_movielens_csv(_write(tmp_path, ratings=ratings))
    assert str(caught.value) == "ratings.csv:4: movie 999 is not in movies.csv"


def test_wrong_ratings_header_is_reported(tmp_path: Path) -> None:
    """ratings.csv must start with userId,movieId,rating,timestamp."""
    ratings = RATINGS.replace("userId", "user")
    with pytest.raises(DataFormatError, match="expected header userId, movieId"):
        load_movielens_csv(_write(tmp_path, ratings=ratings))


def test_repeated_movie_is_reported(tmp_path: Path) -> None:
    """A movie id listed twice in movies.csv names the second line."""
    movies = MOVIES + "1,Toy Story again (1995),Comedy\r\n"
    with pytest.raises(DataFormatError) as caught:
        load_movielens_csv(_write(tmp_path, movies=movies))
    assert str(caught.value) == "movies.csv:5: movie id 1 appears twice"
