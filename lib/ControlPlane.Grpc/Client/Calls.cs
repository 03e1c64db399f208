using System.Runtime.CompilerServices;

namespace ControlPlane.Grpc.Client;

/// <summary>What every call exposes besides its messages.</summary>
public interface ICallState
{
    /// <summary>The server's initial metadata; completes early with empty metadata for a Trailers-Only response.</summary>
    Task<Metadata> ResponseHeadersAsync { get; }

    /// <summary>The final status; throws before the call has ended.</summary>
    Status GetStatus();

    /// <summary>The trailing metadata; throws before the call has ended.</summary>
    Metadata GetTrailers();
}

/// <summary>A unary call: await it (or <see cref="ResponseAsync"/>) for the response; dispose to cancel.</summary>
public sealed class AsyncUnaryCall<TResponse>(Task<TResponse> response, ICallState state, IDisposable call) : ICallState, IDisposable
{
    public Task<TResponse> ResponseAsync { get; } = response;

    public Task<Metadata> ResponseHeadersAsync => state.ResponseHeadersAsync;

    public Status GetStatus() => state.GetStatus();

    public Metadata GetTrailers() => state.GetTrailers();

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public void Dispose() => call.Dispose();
}

/// <summary>A server-streaming call: read <see cref="ResponseStream"/> to the end; dispose to cancel.</summary>
public sealed class AsyncServerStreamingCall<TResponse>(IAsyncStreamReader<TResponse> responseStream, ICallState state, IDisposable call) : ICallState, IDisposable
{
    public IAsyncStreamReader<TResponse> ResponseStream { get; } = responseStream;

    public Task<Metadata> ResponseHeadersAsync => state.ResponseHeadersAsync;

    public Status GetStatus() => state.GetStatus();

    public Metadata GetTrailers() => state.GetTrailers();

    public void Dispose() => call.Dispose();
}

/// <summary>A client-streaming call: write <see cref="RequestStream"/>, complete it, await the response.</summary>
public sealed class AsyncClientStreamingCall<TRequest, TResponse>(
    IClientStreamWriter<TRequest> requestStream, Task<TResponse> response, ICallState state, IDisposable call) : ICallState, IDisposable
{
    public IClientStreamWriter<TRequest> RequestStream { get; } = requestStream;

    public Task<TResponse> ResponseAsync { get; } = response;

    public Task<Metadata> ResponseHeadersAsync => state.ResponseHeadersAsync;

    public Status GetStatus() => state.GetStatus();

    public Metadata GetTrailers() => state.GetTrailers();

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public void Dispose() => call.Dispose();
}

/// <summary>A bidirectional call: write and read independently; dispose to cancel.</summary>
public sealed class AsyncDuplexStreamingCall<TRequest, TResponse>(
    IClientStreamWriter<TRequest> requestStream, IAsyncStreamReader<TResponse> responseStream, ICallState state, IDisposable call) : ICallState, IDisposable
{
    public IClientStreamWriter<TRequest> RequestStream { get; } = requestStream;

    public IAsyncStreamReader<TResponse> ResponseStream { get; } = responseStream;

    public Task<Metadata> ResponseHeadersAsync => state.ResponseHeadersAsync;

    public Status GetStatus() => state.GetStatus();

    public Metadata GetTrailers() => state.GetTrailers();

    public void Dispose() => call.Dispose();
}
