using Raft.Testing.Linearizability;
using static Raft.Core.Tests.Linearizability.KvHistory;

namespace Raft.Core.Tests.Linearizability;

// Hand-written histories with a known verdict. Times read as [call, return]; intervals are closed.
public sealed class KvModelCheckerTests
{
    [Fact]
    public void EmptyHistory_IsLinearizable()
    {
        Assert.Equal(CheckOutcome.Ok, Check().Outcome);
    }

    [Fact]
    public void Get_OfKeyNeverWritten_ReadsAbsent()
    {
        Assert.Equal(CheckOutcome.Ok, Check(Get(1, "k", null, 0, 1)).Outcome);
    }

    [Fact]
    public void SequentialPutThenGet_ReadingWrittenValue_IsLinearizable()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Get(1, "k", "a", 2, 3),
            Put(2, "k", "b", 4, 5),
            Get(3, "k", "b", 6, 7));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
        Assert.Null(result.Explanation);
    }

    [Fact]
    public void Get_OfValueNeverWritten_IsIllegal()
    {
        var result = Check(Put(1, "k", "a", 0, 1), Get(2, "k", "zzz", 2, 3));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a")]
    public void GetConcurrentWithPut_SeeingEitherOldOrNewValue_IsLinearizable(string? seen)
    {
        var result = Check(
            Put(1, "k", "a", 0, 10),
            Get(2, "k", seen, 3, 6));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void StaleRead_AfterCompletedWrite_IsIllegal()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Put(1, "k", "b", 2, 3),
            Get(2, "k", "a", 4, 5));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    // The second read starts after the first returned the new value, so it must not see the old one.
    [Fact]
    public void ReadOfOldValue_StartingAfterAReadOfNewValueReturned_IsIllegal()
    {
        var result = Check(
            Put(1, "k", "old", 0, 1),
            Put(1, "k", "new", 2, 20),
            Get(2, "k", "new", 3, 5),
            Get(3, "k", "old", 6, 8));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void OverlappingReads_OfNewAndOldValue_DuringWrite_AreLinearizable()
    {
        var result = Check(
            Put(1, "k", "old", 0, 1),
            Put(1, "k", "new", 2, 20),
            Get(2, "k", "new", 3, 7),
            Get(3, "k", "old", 6, 8));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void Intervals_TouchingAtOneInstant_CountAsConcurrent()
    {
        // The read is called at the instant the write returns, so it may be ordered before it.
        var result = Check(Put(1, "k", "a", 0, 5), Get(2, "k", null, 5, 6));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void History_GivenOutOfTimeOrder_GetsTheSameVerdict()
    {
        var result = Check(
            Get(2, "k", "a", 4, 5),
            Put(1, "k", "b", 2, 3),
            Put(1, "k", "a", 0, 1));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void Cas_WhenValueMatchesExpected_Swaps()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", swapped: true, 2, 3),
            Get(1, "k", "b", 4, 5));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void Cas_ExpectingAbsent_OnMissingKey_Swaps()
    {
        var result = Check(
            Cas(1, "k", null, "a", swapped: true, 0, 1),
            Get(1, "k", "a", 2, 3));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void Cas_ReportingSuccess_WhenValueDiffers_IsIllegal()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Cas(1, "k", "x", "b", swapped: true, 2, 3));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void Cas_ReportingFailure_WhenValueMatches_IsIllegal()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", swapped: false, 2, 3));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void FailedCas_LeavesValueUnchanged()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Cas(1, "k", "x", "b", swapped: false, 2, 3),
            Get(1, "k", "b", 4, 5));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void ConcurrentCasFromAbsent_BothSwapping_IsIllegal()
    {
        var result = Check(
            Cas(1, "k", null, "a", swapped: true, 0, 10),
            Cas(2, "k", null, "b", swapped: true, 1, 9));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void ConcurrentCasFromAbsent_OneSwapping_IsLinearizable()
    {
        var result = Check(
            Cas(1, "k", null, "a", swapped: true, 0, 10),
            Cas(2, "k", null, "b", swapped: false, 1, 9),
            Get(3, "k", "a", 11, 12));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void Delete_ThenGet_ReadsAbsent()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Delete(1, "k", 2, 3),
            Get(2, "k", null, 4, 5));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void Get_AfterCompletedDelete_SeeingOldValue_IsIllegal()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Delete(1, "k", 2, 3),
            Get(2, "k", "a", 4, 5));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void UnknownWrite_SeenByALaterRead_IsLinearizable()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Put("k", "b"), 2),
            Get(3, "k", "b", 50, 51));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void UnknownWrite_NeverSeen_IsLinearizable()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Put("k", "b"), 2),
            Get(3, "k", "a", 50, 51),
            Get(3, "k", "a", 52, 53));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void UnknownWrite_SeenOnlyBeforeItWasInvoked_IsIllegal()
    {
        var result = Check(
            Get(3, "k", "b", 0, 1),
            Pending(2, KvInput.Put("k", "b"), 2));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    // An unknown outcome lets the write take effect once, not be undone: after a read saw it, a later read of
    // the value it overwrote has no linearization.
    [Fact]
    public void UnknownWrite_SeenAndThenUnseen_IsIllegal()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Put("k", "b"), 2),
            Get(3, "k", "b", 10, 11),
            Get(3, "k", "a", 12, 13));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void UnknownDelete_SeenByALaterRead_IsLinearizable()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Delete("k"), 2),
            Get(3, "k", "a", 5, 6),
            Get(3, "k", null, 7, 8));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void UnknownCas_TakesEffectOnlyWhereItsExpectationHolds()
    {
        var applied = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Cas("k", "a", "b"), 2),
            Get(3, "k", "b", 5, 6));
        var expectationNeverHeld = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Cas("k", "x", "b"), 2),
            Get(3, "k", "b", 5, 6));

        Assert.Equal(CheckOutcome.Ok, applied.Outcome);
        Assert.Equal(CheckOutcome.Illegal, expectationNeverHeld.Outcome);
    }

    [Fact]
    public void UnknownRead_AcceptsAnyValue_AndChangesNothing()
    {
        var result = Check(
            Put(1, "k", "a", 0, 1),
            Pending(2, KvInput.Get("k"), 2),
            Get(3, "k", "a", 5, 6));

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void ManyUnknownWrites_OnlyOneOfWhichIsSeen_IsLinearizable()
    {
        var history = Enumerable.Range(0, 30)
            .Select(i => Pending(i, KvInput.Put("k", $"v{i}"), i))
            .Append(Get(99, "k", "v17", 100, 101))
            .Append(Get(99, "k", "v17", 102, 103))
            .ToArray();

        Assert.Equal(CheckOutcome.Ok, Check(history).Outcome);
    }

    // Each key on its own is fine; read as a single register the interleaving is not, so the verdict
    // depends on the model splitting the history by key.
    [Fact]
    public void TwoKeys_EachLinearizableOnItsOwn_IsLinearizable()
    {
        Operation<KvInput, KvOutput>[] history =
        [
            Put(1, "x", "1", 0, 1),
            Put(2, "y", "2", 2, 3),
            Get(1, "x", "1", 4, 5),
            Get(2, "y", "2", 6, 7),
        ];

        Assert.Equal(CheckOutcome.Ok, LinearizabilityChecker.Check(KvModel.Instance, history).Outcome);
        Assert.Equal(CheckOutcome.Illegal, LinearizabilityChecker.Check(new SingleRegisterKvModel(), history).Outcome);
    }

    [Fact]
    public void IllegalHistory_Explanation_NamesTheKeyThePrefixAndTheOperationThatCannotBePlaced()
    {
        var result = Check(
            Put(1, "fine", "x", 0, 1),
            Put(1, "k", "a", 0, 1),
            Put(1, "k", "b", 2, 3),
            Get(7, "k", "a", 4, 5));

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
        var explanation = Assert.IsType<string>(result.Explanation);
        Assert.Contains("key \"k\"", explanation, StringComparison.Ordinal);
        Assert.Contains("2 of 3 operations", explanation, StringComparison.Ordinal);
        Assert.Contains("State after it: \"b\"", explanation, StringComparison.Ordinal);
        Assert.Contains("client 7, t=4..5: get(\"k\") -> \"a\"  <- illegal in this state", explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void KvModel_Partition_GroupsByKey()
    {
        var parts = KvModel.Instance.Partition(
        [
            Put(1, "x", "1", 0, 1),
            Put(1, "y", "1", 0, 1),
            Get(1, "x", "1", 2, 3),
        ]).ToList();

        Assert.Equal([2, 1], parts.Select(p => p.Count));
        Assert.All(parts, p => Assert.Single(p.Select(op => op.Input.Key).Distinct()));
    }

    // KvModel's semantics for one register, without splitting by key.
    private sealed class SingleRegisterKvModel : IModel<string?, KvInput, KvOutput>
    {
        public string? Init() => KvModel.Instance.Init();

        public IEnumerable<IReadOnlyList<Operation<KvInput, KvOutput>>> Partition(IReadOnlyList<Operation<KvInput, KvOutput>> history) => [history];

        public (bool Ok, string? Next) Step(string? state, KvInput input, KvOutput output) => KvModel.Instance.Step(state, input, output);

        public bool Equal(string? a, string? b) => KvModel.Instance.Equal(a, b);

        public int Hash(string? state) => KvModel.Instance.Hash(state);

        public string Describe(KvInput input, KvOutput output) => KvModel.Instance.Describe(input, output);
    }
}
