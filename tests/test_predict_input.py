"""Reading proteins to predict: a bad record is listed with the cleaner's own message, the rest go on."""

from __future__ import annotations

import pandas as pd
import pytest

from protlab.data import clean_sequence, parse_sequences
from protlab.errors import DataFormatError, InvalidSequenceError
from protlab.predict_input import MAX_RECORDS, REJECTED_COLUMNS, read_file, read_pasted

GOOD = ">a first\nMKTAYIAKQR\n>b\nMVLSPADKTN\n"


def _reason(text: str) -> str:
    """The message the strict cleaner gives for text holding one bad record."""
    with pytest.raises(InvalidSequenceError) as err:
        clean_sequence(text)
    return str(err.value)


def test_good_text_reads_as_parse_sequences_does() -> None:
    result = read_pasted(GOOD + ">a\nmvlspadktn*\n")
    expected = parse_sequences(GOOD + ">a\nmvlspadktn*\n")
    assert result.records == expected  # ids made unique, notes and descriptions the same
    assert result.rejected.empty and list(result.rejected.columns) == REJECTED_COLUMNS


def test_one_bad_record_does_not_block_the_batch() -> None:
    text = ">a\nMKTAYIAKQR\n>bad one\nMKT1AY\n>empty\n>c\nGSHMWWKLVE\n"
    result = read_pasted(text)
    assert [r.id for r in result.records] == ["a", "c"]
    assert result.records == [r for r in parse_sequences(">a\nMKTAYIAKQR\n>c\nGSHMWWKLVE\n")]
    rejected = result.rejected
    assert rejected["record"].tolist() == [2, 3] and rejected["id"].tolist() == ["bad", "empty"]
    assert rejected["line"].tolist() == [3, 5]
    assert rejected["reason"].iloc[0] == _reason(">bad one\nMKT1AY\n")
    assert "'>empty' (line 5)" in rejected["reason"].iloc[1]


def test_a_single_bad_sequence_is_rejected_with_the_cleaners_message() -> None:
    result = read_pasted("MKTAYIAKQR1QISFVKS")
    assert not result.records
    assert result.rejected["reason"].tolist() == [_reason("MKTAYIAKQR1QISFVKS")]


def test_problems_with_the_whole_input_still_raise() -> None:
    with pytest.raises(InvalidSequenceError, match="No sequence"):
        read_pasted("   \n")
    with pytest.raises(InvalidSequenceError, match="limit"):
        read_pasted("".join(f">p{i}\nMK\n" for i in range(MAX_RECORDS + 1)))


def test_csv_file_rows_with_ids_and_bad_rows_listed() -> None:
    data = b"name,Sequence,other\nx,MKTAYIAKQR,1\ny,MK-TAY,2\n,GSHMWWKLVE,3\n,,\n"
    result = read_file(data, "mine.csv")
    assert [r.id for r in result.records] == ["x", "row4"]
    assert [r.sequence for r in result.records] == ["MKTAYIAKQR", "GSHMWWKLVE"]
    rejected = result.rejected[["record", "id", "line"]].to_dict("records")
    assert rejected == [{"record": 2, "id": "y", "line": 3}]
    assert "'-' at position 3" in result.rejected["reason"].iloc[0]
    assert any("column 'Sequence'" in note for note in result.notes)
    assert not any("was not used" in note for note in result.notes)
    assert result.labels is None  # no label column


def test_a_label_column_comes_with_the_records_to_compare_the_calls_with() -> None:
    data = b"id,sequence,Solubility\nx,MKTAYIAKQRQ,yes\nbad,MK1,0\nz,MSDKIIHLTDD,\nw,MQIFVKTLTGK,0\n"
    labelled = read_file(data, "labelled.csv")
    assert [r.id for r in labelled.records] == ["x", "z", "w"] and labelled.labels == [1, -1, 0]
    assert labelled.notes[-1] == (
        "Labels from column 'Solubility': 2 of 3 proteins carry one, shown beside the calls."
    )
    percent = "".join(f"p{i},MKTAYIAKQR{'A' * i},{v}\n" for i, v in enumerate([85.5, 7.5, 1, 26.9, 0, 64]))
    measured = read_file(f"id,sequence,solubility\n{percent}".encode(), "esol.csv")
    assert measured.labels is None and measured.notes[-1].startswith(
        "The label column 'solubility' holds measurements, not classes: 4 of its 6 values"
    )
    assert measured.notes[-1].endswith("It was not compared with the calls, which are classes.")


def test_labels_in_fasta_headers_come_with_the_records_as_for_training() -> None:
    text = ">a label=1\nMKTAYIAKQRQISF\n>b|0\nMSDKIIHLTDDSFD\n>c soluble\nMK1\n>d\nMQIFVKTLTGKTIT\n"
    for read in (read_pasted(text), read_file(text.encode(), "labelled.fasta")):
        assert [r.id for r in read.records] == ["a", "b|0", "d"] and read.labels == [1, 0, -1]
        assert read.notes[-1] == (
            "Labels from the FASTA headers: 2 of 3 proteins carry one, shown beside the calls."
        )
    assert (
        read_pasted(">sp|P0AA25|THIO_ECOLI Thioredoxin 1 OS=Escherichia coli\nMSDKIIHLTDDSFD\n").labels
        is None
    )
    assert read_pasted(">e label=1.00\nMKTAYIAKQRQISF\n").labels == [1]  # read as training files read it


def test_fasta_file_larger_than_the_pasted_text_limit_is_read() -> None:
    from protlab.data import MAX_TEXT_CHARS

    body = "MKTAYIAKQR" * 900  # 9,000 residues per record
    count = MAX_TEXT_CHARS // len(body) + 5
    data = "".join(f">p{i}\n{body}\n" for i in range(count)).encode()
    result = read_file(data, "big.fasta")
    assert len(result.records) == count and result.rejected.empty


def test_files_that_are_not_sequences_are_refused() -> None:
    with pytest.raises(DataFormatError, match="empty") as refused:  # worded for the file Predict reads
        read_file(b"", "none.fasta")
    assert "FASTA or CSV (comma-separated, with a sequence column)" in str(refused.value)
    with pytest.raises(DataFormatError, match="PNG image") as refused:
        read_file(b"\x89PNG\r\n\x1a\nrest", "figure.csv")
    assert "a sequence column" in str(refused.value) and "label" not in str(refused.value)
    with pytest.raises(DataFormatError, match="ZIP archive or Excel workbook but is damaged"):
        read_file(b"PK\x03\x04rest", "book.xlsx")
    with pytest.raises(DataFormatError, match="NUL bytes") as refused:
        read_file(b"MKT\x00AYI" * 10, "blob.bin")
    assert "FASTA" in str(refused.value) and "label" not in str(refused.value)
    with pytest.raises(DataFormatError, match="no sequence column"):
        read_file(b"id,label\na,1\n", "labels.csv")
    for header_only in (b"sequence,label\n", b"id,sequence\n\n\n", b"sequence\n"):
        with pytest.raises(DataFormatError, match="rows below the header are missing or empty"):
            read_file(header_only, "header.csv")


def test_a_table_without_a_header_row_is_told_to_add_one() -> None:
    trx, ubq = "MSDKIIHLTDDSFDTDVLKA", "MQIFVKTLTGKTITLEVEPS"
    with pytest.raises(DataFormatError) as refused:
        read_file(f"{trx},1\n{ubq},0\n".encode(), "headless.csv")
    assert str(refused.value) == (
        "The file 'headless.csv' has no header row: its first line already holds a protein sequence (column "
        "1). Add a header line such as 'sequence,label' as the first line of the file, or give a FASTA file."
    )
    with pytest.raises(DataFormatError, match="such as 'id;sequence'"):
        read_file(f"P1;{trx}\nP2;{ubq}\n".encode(), "headless.csv")
    with pytest.raises(DataFormatError) as refused:  # long names are shortened; every accepted name listed
        read_file(("name," + "n_" * 30 + "\nx,1\n").encode(), "named.csv")
    message = str(refused.value)
    assert "'name', '" + "n_" * 13 + "n...'" in message and "n_" * 16 not in message
    from protlab.data import SEQUENCE_NAMES

    assert all(name in message for name in SEQUENCE_NAMES)


def test_lines_of_different_lengths_are_one_protein_each_and_wrapped_lines_one_protein() -> None:
    trx, ubq, short = "MSDKIIHLTDDSFDTDVLKA", "MQIFVKTLTGKTITLEVEPS", "MKVLAAGIVG"
    listed = read_pasted(f"{short}\n{trx}\n{ubq}\n")
    assert [(r.id, r.sequence) for r in listed.records] == [("seq1", short), ("seq2", trx), ("seq3", ubq)]
    assert (
        "lines of different lengths" in listed.readings[0]
        and "each line is read as one protein" in listed.readings[0]
    )
    from_file = read_file(f"{trx}\n{short}\n{ubq}\n".encode(), "list.txt")  # uploaded: the same rule
    assert [r.sequence for r in from_file.records] == [trx, short, ubq]
    assert [r.line for r in read_pasted(f"{trx}\n{short}\nMK1\n").rejected.itertuples()] == [3]
    wrapped = read_pasted(f"{trx}\n{ubq}\n{short}\n")  # 20, 20, 10: wrapped at 20, said in a note
    assert [r.sequence for r in wrapped.records] == [trx + ubq + short]
    assert wrapped.readings == [
        "The 3 lines were read as one protein wrapped at 20 letters a line. If each line is a protein of its "
        "own, put a blank line or a line '>name' before each."
    ]
    genbank = read_pasted("ORIGIN\n        1 msdkiihltd dsfdtdvlka\n       21 mk\n//\n")  # numbered: one
    assert [r.sequence for r in genbank.records] == [trx + "MK"] and not genbank.readings


def test_plain_sequence_file_is_one_protein() -> None:
    result = read_file(b"MKTAYIAKQR\nQISFVKSHFS\n", "one.txt")
    assert [(r.id, r.sequence) for r in result.records] == [("seq1", "MKTAYIAKQRQISFVKSHFS")]
    assert isinstance(result.rejected, pd.DataFrame)


def test_length_range_comes_from_the_checkpoint_else_the_fallback() -> None:
    from protlab.predict_input import LengthRange, input_flags, training_length_range

    fallback = LengthRange(27, 1696, "bundled")
    assert training_length_range({}, fallback) is fallback
    assert (
        training_length_range({"data_summary": {"min_length": 50, "max_length": 90}}, fallback).shortest == 50
    )
    assert training_length_range({"data_summary": {"min_length": "x"}}, fallback) is fallback
    assert input_flags("M" * 27, fallback) == [] and input_flags("M" * 1696, fallback) == []
    assert input_flags("M" * 26, fallback) == ["shorter than any training protein (26 residues; shortest 27)"]
    assert "longer than any" in input_flags("M" * 1697, fallback)[0]
    flags = input_flags("MKXB" + "A" * 40, fallback)
    assert flags == ["2 unknown residues (B, X), each read as the unknown residue"]


def test_blocks_separated_by_blank_lines_are_separate_proteins_with_a_note() -> None:
    trx, ubq = "MSDKIIHLTDDSFDTDVLKA", "MQIFVKTLTGKTITLEVEPS"
    pasted = read_pasted(f"{trx[:10]}\n{trx[10:]}\n\n\n{ubq}\n")
    assert [(r.id, r.sequence) for r in pasted.records] == [("seq1", trx), ("seq2", ubq)]
    assert len(pasted.readings) == 1 and "2 blocks separated by blank lines" in pasted.readings[0]
    from_file = read_file(f"{trx}\n\n{ubq}\n".encode(), "two.txt")
    assert [r.sequence for r in from_file.records] == [trx, ubq] and from_file.readings
    # one block (wrapped lines, a trailing blank line) and FASTA are read as before, without the note
    assert [r.sequence for r in read_pasted(f"{trx[:10]}\n{trx[10:]}\n\n").records] == [trx]
    fasta = read_pasted(f">a\n{trx}\n\n>b\n{ubq}")
    assert [r.id for r in fasta.records] == ["a", "b"] and not fasta.readings
    bad = read_pasted(f"{trx}\n\nMK1V\n")  # a bad block is listed on its own line, the other predicted
    assert [r.sequence for r in bad.records] == [trx]
    left_out = bad.rejected[["record", "id", "line"]].to_dict("records")
    assert left_out == [{"record": 2, "id": "seq2", "line": 3}]


def test_dna_and_rna_are_refused_as_proteins() -> None:
    dna = "ATGAGCGATAAAATTATTCACCTGACTGACGAC"
    only = read_pasted(dna)
    assert not only.records and "looks like DNA or RNA" in only.rejected["reason"].iloc[0]
    mixed = read_pasted(f">cds\n{dna}\n>rna\n{dna.replace('T', 'U')}\n>protein\nMSDKIIHLTDDSFDTDVLKA")
    assert [r.id for r in mixed.records] == ["protein"] and list(mixed.rejected["id"]) == ["cds", "rna"]
    table = read_file(f"id,sequence\nx,{dna}\ny,MKTAYIAKQR\n".encode(), "t.csv")
    assert [r.id for r in table.records] == ["y"] and "translate" in table.rejected["reason"].iloc[0]
    # short peptides of these letters stay proteins (a Gly-Ala-Thr linker is a real peptide)
    assert [r.sequence for r in read_pasted("GAGATGCAGT").records] == ["GAGATGCAGT"]


def test_protein_names_typed_for_sequences_are_refused_with_where_to_find_the_sequence() -> None:
    names = read_pasted("GFP\ninsulin\nlysozyme\n\nGreen fluorescent protein\n")
    assert not names.records and names.rejected["id"].tolist() == ["seq1", "seq2", "seq3", "seq4"]
    reasons = names.rejected["reason"].tolist()
    assert reasons[0].startswith("'GFP' has 3 letters, too few for a protein. ProtLab predicts from the")
    assert reasons[3].startswith(
        "'Green fluorescent protein' looks like words, not a protein sequence: 23 letters, including O and U"
    )
    assert all("look it up in UniProt" in reason for reason in reasons)
    known = [reason.endswith("is among ProtLab's known proteins.") for reason in reasons]
    assert known == [True, True, False, True]  # lysozyme is not in the table; insulin finds Proinsulin only
    assert "Proinsulin" in reasons[1]
    sentence = "I would like to know if my enzyme is soluble when expressed in E. coli at 37 degrees"
    prose = read_pasted(sentence.replace(" 37", "").replace(".", ""))  # any length: dense in O and U
    assert (
        prose.rejected["reason"]
        .iloc[0]
        .startswith(
            "'I would like to know if my enzyme is...' looks like words, not a protein sequence: 64 letters, "
            "including B, O, U"
        )
    )
    named = read_pasted("streptavidin")  # no tell-tale letters: a lower-case word with a name's ending
    assert (
        named.rejected["reason"]
        .iloc[0]
        .startswith("'streptavidin' looks like a protein's name, not a sequence")
    )
    assert [r.sequence for r in read_pasted("STREPTAVIDIN").records] == [
        "STREPTAVIDIN"
    ]  # capitals: a peptide
    question = read_pasted("Is my enzyme soluble in E. coli?")  # its full stop is not an alignment gap
    assert (
        question.rejected["reason"].iloc[0].startswith("'Is my enzyme soluble in E. coli?' looks like words")
    )
    assert "position 4" in read_pasted("MKT 1AYIAKQR").rejected["reason"].iloc[0]  # a typo keeps its message
    table = read_file(b"id,sequence\na,GFP\nb,MSDKIIHLTDDSFDTDVLKA\n", "names.csv")  # files are checked too
    assert [r.id for r in table.records] == ["b"] and table.rejected["id"].tolist() == ["a"]


def test_real_peptides_and_selenoproteins_stay_proteins() -> None:
    melittin = "GIGAVLKVLTTGLPALISWIKRKRQQ"  # 26 residues, no word-only letters
    selenoprotein = "MSDKIIHLTDDSFDTDVLKAUGGSHMWWKLVE"  # one selenocysteine (U) in 32 residues
    kept = read_pasted(f">melittin\n{melittin}\n>sel\n{selenoprotein}\n>ten\nMKVLAAGIVG\n")
    assert [r.id for r in kept.records] == ["melittin", "sel", "ten"] and kept.rejected.empty


def test_a_header_line_copied_without_its_gt_is_read_as_a_header_with_a_note() -> None:
    trx = (
        "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLFKNGEVAASKVGALSKGQL"
    )
    text = f"sp|P0AA25|THIO_ECOLI Thioredoxin 1 OS=Escherichia coli\n{trx[:60]}\n{trx[60:]}\n"
    for result in (read_pasted(text), read_file(text.encode(), "trx.txt")):
        assert [(r.id, r.sequence) for r in result.records] == [("sp|P0AA25|THIO_ECOLI", trx)]
        assert result.rejected.empty and result.readings == [
            "Line 1 looked like a FASTA header line without the '>' at the start (a '|' or 'OS=' is never "
            "part of a sequence), so it was read as a header."
        ]
    assert read_pasted(f">a\n{trx}\n").readings == []  # a header with its '>' needs no note
