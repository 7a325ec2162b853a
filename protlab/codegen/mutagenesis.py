"""Write the mutation map's "Show me the PyTorch" script: the prediction script plus a mutagenesis loop.

The script is the Predict page's plain-PyTorch prediction script for the one protein (no attribution),
followed by the loop ProtLab's saturation_mutagenesis computes: every single substitution, predicted in
batches, delta = mutant minus wild-type P(soluble).
"""

from __future__ import annotations

from protlab.codegen.predict import prediction_script

__all__ = ["mutagenesis_script"]

LOOP = """

# In-silico saturation mutagenesis: every single substitution of the first protein.
# ProtLab gives the same numbers faster: a substitution only changes the convolution
# outputs near it, so it recomputes just that window (protlab/mutation_scan.py).
wild_type = sequences[0]
alphabet = checkpoint["vocab"]["alphabet"]  # the 20 residues, in the model's order
mutants, labels = [], []
for i, wild in enumerate(wild_type):
    for aa in alphabet:
        if aa != wild:
            mutants.append(wild_type[:i] + aa + wild_type[i + 1 :])
            labels.append(f"{wild}{i + 1}{aa}")  # e.g. K23G: position 23, K -> G
p_wild = predict([wild_type])[0]
p_mutant = predict(mutants, batch_size=BATCH_SIZE)  # (19 * L,)
delta = p_mutant - p_wild  # > 0: the substitution makes the protein more soluble
print(f"\\n{names[0]}: {len(mutants):,} mutants; wild type P(soluble) = {p_wild:.3f}")
print("Most helpful substitutions:")
for j in np.argsort(-delta)[:10]:
    print(f"  {labels[j]}  P(soluble) {p_mutant[j]:.3f}  change {delta[j]:+.4f}")
"""


def mutagenesis_script(model_source: str, sequence: str, *, name: str = "seq1", batch_size: int = 256) -> str:
    """Return a runnable plain-PyTorch script that scores every single substitution of sequence.

    model_source is "default" for the bundled model, else the checkpoint's path or file name.
    """
    script = prediction_script(model_source, [sequence], with_attribution=False, ids=[name])
    return script + LOOP.replace("BATCH_SIZE", str(int(batch_size)))
