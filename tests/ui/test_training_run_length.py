"""polish: the dialog offered dae's 20 epochs on any data: 100 steps on 354 photos (and a run of
~36 steps collapsed their codes). On small data it now offers the epochs for 300 steps, says
how many steps the epochs are, and keeps a number the user typed. polish27: for every model kind
(siamese, triplet and the gated autoencoders had their defaults: bgae on a small folder of
sequences, 24 objects of 10 frames, trained 32 steps), its steps counted as the engine plans them."""


def test_small_data_is_offered_enough_epochs_and_their_steps_are_shown(dialog, ctx, digits_300, digits_set):
    dlg = dialog
    ctx.workspace.set_dataset(digits_300)
    dlg.set_model("dae")  # 300 digits: 270 to train, 5 batches of 64 an epoch
    assert dlg.epochs.value() == 60 and dlg.epochs.suffix().strip() == "(300 steps)"
    assert dlg.train_config().epochs == 60
    dlg.batch_size.setValue(32)  # the steps follow the fields
    assert dlg.epochs.suffix().strip() == "(540 steps)"
    dlg.set_model("siamese")  # learning from labels too (polish27): two pairs an item, 5 steps an epoch
    assert dlg.epochs.value() == 60 and dlg.epochs.suffix().strip() == "(300 steps)"
    dlg.set_model("triplet")  # its labelled training items in batches of 128: 2 steps an epoch
    assert dlg.epochs.value() == 150 and dlg.epochs.suffix().strip() == "(300 steps)"
    dlg.set_model("dae")
    ctx.workspace.set_dataset(digits_set)  # 1797 digits: the default is 520 steps already
    assert dlg.epochs.value() == 20 and dlg.epochs.suffix().strip() == "(520 steps)"


def test_epochs_the_user_typed_stay_when_the_data_change(dialog, ctx, digits_300, digits_set):
    dlg = dialog
    ctx.workspace.set_dataset(digits_300)
    dlg.set_model("dae")
    dlg.epochs.setValue(7)
    ctx.workspace.set_dataset(digits_set)
    assert dlg.epochs.value() == 7 and dlg.epochs.suffix().strip() == "(182 steps)"
