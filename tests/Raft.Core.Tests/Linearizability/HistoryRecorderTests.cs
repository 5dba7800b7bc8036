using Raft.Testing.Linearizability;

namespace Raft.Core.Tests.Linearizability;

public sealed class HistoryRecorderTests
{
    [Fact]
    public void CompletedOperation_AppearsWithItsCallAndReturnTimes()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();

        var id = recorder.Invoke(3, KvInput.Put("k", "a"), time: 10);
        recorder.Complete(id, KvOutput.Done(), time: 12);

        var op = Assert.Single(recorder.Build(KvOutput.Indeterminate));
        Assert.Equal(new Operation<KvInput, KvOutput>(3, KvInput.Put("k", "a"), 10, KvOutput.Done(), 12), op);
        Assert.Equal(1, recorder.Completed);
        Assert.Equal(0, recorder.Pending);
    }

    [Fact]
    public void PendingOperation_IsBuiltWithAnUnknownOutcome()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();

        recorder.Invoke(1, KvInput.Put("k", "a"), time: 5);

        var op = Assert.Single(recorder.Build(KvOutput.Indeterminate));
        Assert.Equal(long.MaxValue, op.Return);
        Assert.Equal(KvOutput.Indeterminate, op.Output);
        Assert.True(op.IsPending);
        Assert.Equal(1, recorder.Pending);
    }

    [Fact]
    public void FailedOperation_IsLeftOutOfTheHistory()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();

        var failed = recorder.Invoke(1, KvInput.Put("k", "a"), time: 0);
        var kept = recorder.Invoke(2, KvInput.Get("k"), time: 1);
        recorder.Fail(failed, time: 2);
        recorder.Complete(kept, KvOutput.Read(null), time: 3);

        var op = Assert.Single(recorder.Build(KvOutput.Indeterminate));
        Assert.Equal(2, op.ClientId);
        Assert.Equal(1, recorder.Failed);
        Assert.Equal(0, recorder.Pending);
    }

    [Fact]
    public void Build_ListsOperationsInInvocationOrder_AndIsASnapshot()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();
        var first = recorder.Invoke(1, KvInput.Put("k", "a"), time: 0);
        var second = recorder.Invoke(2, KvInput.Put("k", "b"), time: 1);
        recorder.Complete(second, KvOutput.Done(), time: 2);

        var before = recorder.Build(KvOutput.Indeterminate);
        recorder.Complete(first, KvOutput.Done(), time: 3);
        var after = recorder.Build(KvOutput.Indeterminate);

        Assert.Equal([1, 2], before.Select(op => op.ClientId));
        Assert.Equal(long.MaxValue, before[0].Return);
        Assert.Equal(3, after[0].Return);
    }

    [Fact]
    public void Complete_OfAnOperationNoLongerPending_Throws()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();
        var id = recorder.Invoke(1, KvInput.Get("k"), time: 0);
        recorder.Complete(id, KvOutput.Read(null), time: 1);

        Assert.Throws<InvalidOperationException>(() => recorder.Complete(id, KvOutput.Read(null), time: 2));
        Assert.Throws<InvalidOperationException>(() => recorder.Fail(id, time: 2));
        Assert.Throws<InvalidOperationException>(() => recorder.Complete(42, KvOutput.Read(null), time: 2));
    }

    [Fact]
    public void Complete_BeforeTheInvocationTime_Throws_AndLeavesTheOperationPending()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();
        var id = recorder.Invoke(1, KvInput.Get("k"), time: 10);

        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Complete(id, KvOutput.Read(null), time: 9));
        Assert.Equal(1, recorder.Pending);
    }

    // Real threads against a lock-protected dictionary, with a shared counter as the clock: whatever the
    // interleaving, the recorded history must check as linearizable.
    [Fact]
    public void Recorder_UsedByConcurrentClientsOfALockedDictionary_YieldsALinearizableHistory()
    {
        var recorder = new HistoryRecorder<KvInput, KvOutput>();
        var store = new Dictionary<string, string>(StringComparer.Ordinal);
        var storeLock = new Lock();
        long clock = 0;

        Parallel.For(0, 8, client =>
        {
            var random = new Random(client);
            for (var i = 0; i < 200; i++)
            {
                var key = $"k{random.Next(4)}";
                var input = random.Next(3) == 0 ? KvInput.Get(key) : KvInput.Put(key, $"c{client}-{i}");
                var id = recorder.Invoke(client, input, Interlocked.Increment(ref clock));
                KvOutput output;
                lock (storeLock)
                {
                    if (input.Op == KvOp.Get)
                    {
                        output = KvOutput.Read(store.GetValueOrDefault(key));
                    }
                    else
                    {
                        store[key] = input.Value!;
                        output = KvOutput.Done();
                    }
                }

                recorder.Complete(id, output, Interlocked.Increment(ref clock));
            }
        });

        var history = recorder.Build(KvOutput.Indeterminate);
        Assert.Equal(1600, history.Count);
        Assert.Equal(1600, recorder.Completed);
        Assert.Equal(CheckOutcome.Ok, LinearizabilityChecker.Check(KvModel.Instance, history, TimeSpan.FromSeconds(30)).Outcome);
    }
}
