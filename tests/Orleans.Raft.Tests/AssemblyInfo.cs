// Several Orleans clusters at once on a small machine are slow and flaky: run the test classes one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
