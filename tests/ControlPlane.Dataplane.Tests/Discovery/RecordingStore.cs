using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// The real last-known-good store (the files are written), telling the test of every write as it
/// starts, in order; while <see cref="Hold"/> is in force a write waits for <see cref="Release"/>
/// before touching the disk, as on a slow disk, so a test can act while one is under way.
/// </summary>
internal sealed class RecordingStore(string directory) : LastKnownGoodStore(directory)
{
    private readonly Lock _lock = new();
    private TaskCompletionSource? _gate;
    private IOException? _failure;

    /// <summary>Every write, as it starts: the resources (null for a write of the position alone) and the position.</summary>
    public Channel<StoreWrite> Writes { get; } = Channel.CreateUnbounded<StoreWrite>();

    /// <summary>Writes from now on wait for <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets the waiting write, and every later one, go on.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _gate?.TrySetResult();
            _gate = null;
        }
    }

    /// <summary>Writes from now on fail with <paramref name="failure"/> (null: they succeed again), as on a full disk.</summary>
    public void Fail(IOException? failure)
    {
        lock (_lock)
        {
            _failure = failure;
        }
    }

    /// <summary>The next write to start.</summary>
    public Task<StoreWrite> NextWriteAsync() => Writes.Reader.ReadAsync().AsTask().DefaultTimeout();

    public override void Save(IReadOnlyList<Resource> resources, string position)
    {
        Enter(new StoreWrite(resources, position));
        base.Save(resources, position);
    }

    public override void SavePosition(string position)
    {
        Enter(new StoreWrite(null, position));
        base.SavePosition(position);
    }

    private void Enter(StoreWrite write)
    {
        Writes.Writer.TryWrite(write);
        Task gate;
        IOException? failure;
        lock (_lock)
        {
            gate = _gate?.Task ?? Task.CompletedTask;
            failure = _failure;
        }
        // The writer's own task waits (a write is synchronous I/O); guarded so a broken test fails.
        if (!gate.Wait(TaskTimeoutExtensions.Timeout))
        {
            throw new TimeoutException("the held write was never released");
        }
        if (failure is not null)
        {
            throw failure;
        }
    }

    /// <summary>Makes the node started with <paramref name="builder"/> keep its last-known-good configuration through this store.</summary>
    public void UseIn(WebApplicationBuilder builder) => builder.Services.AddSingleton(sp => DataplaneHost.CreateDiscoveryClient(sp, this));
}

/// <summary>One write of the last-known-good store: <see cref="Resources"/> null when the position alone was written.</summary>
internal sealed record StoreWrite(IReadOnlyList<Resource>? Resources, string Position)
{
    /// <summary>The versions written, <c>name=version</c>, in order (empty for a write of the position alone).</summary>
    public string[] Versions => Resources is null ? [] : [.. Resources.Select(r => $"{r.Name}={r.Version}")];
}
