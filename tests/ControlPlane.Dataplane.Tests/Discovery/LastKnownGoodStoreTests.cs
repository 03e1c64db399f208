using ControlPlane.Dataplane.Discovery;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>The store position beside the last-known-good file: read back as saved, and never read whole when it cannot be one.</summary>
public sealed class LastKnownGoodStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-lkg-store-").FullName;

    private string PositionPath => Path.Combine(_directory, LastKnownGoodStore.PositionFileName);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void APositionFileOfAnySize_IsReadOnlyAsFarAsTheLimit()
    {
        using (var file = File.Create(PositionPath))
        {
            file.SetLength(32 << 20); // 32 MiB (sparse): read whole, a 300 MB one took the node past 1.2 GB
        }
        var store = new LastKnownGoodStore(_directory);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var position = store.LoadPosition();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("", position);
        Assert.True(allocated < 64 << 10, $"{allocated} bytes allocated to read a position of at most {LastKnownGoodStore.MaxPositionLength} characters");
    }

    [Fact]
    public void APosition_ReadsBackAsSaved_UpToTheLimit_AndNothingElseIsOne()
    {
        var store = new LastKnownGoodStore(_directory);
        var longest = new string('7', LastKnownGoodStore.MaxPositionLength);

        store.SavePosition("1795349467.2143:42");
        Assert.Equal("1795349467.2143:42", store.LoadPosition());
        store.SavePosition(longest);
        Assert.Equal(longest, store.LoadPosition());

        File.WriteAllText(PositionPath, longest + "7");
        Assert.Equal("", store.LoadPosition());
        File.WriteAllBytes(PositionPath, [(byte)'1', 0xC3, 0xA9]); // not ASCII
        Assert.Equal("", store.LoadPosition());
        File.WriteAllText(PositionPath, "");
        Assert.Equal("", store.LoadPosition());
    }
}
