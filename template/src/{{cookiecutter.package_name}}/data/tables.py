"""Tables that ship inside scikit-learn (no download), read like a user's file
(``data.embedded=<name>``):

* ``breast_cancer``: 569 tumours, 30 continuous measurements, target ``diagnosis`` (benign /
  malignant): classification;
* ``diabetes``: 442 patients, age, ``sex`` (a real categorical column: 1 or 2), BMI, blood
  pressure and six blood serum measurements in their original units; target ``progression`` (a
  disease progression score one year later): regression.
"""


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["diagnosis"] = [str(data.target_names[t]) for t in data.target]
    return frame


def diabetes():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.rename(columns={"target": "progression"})


EMBEDDED = {"breast_cancer": breast_cancer, "diabetes": diabetes}  # name -> the whole table
