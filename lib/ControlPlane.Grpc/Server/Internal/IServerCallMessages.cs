using Google.Protobuf;

namespace ControlPlane.Grpc.Server.Internal;

/// <summary>
/// The message I/O of one call, as the bound handler shapes use it. A gRPC call
/// (<see cref="ServerCall{TRequest, TResponse}"/>) and a JSON-transcoded REST call both implement it,
/// so both run the same interceptor pipeline and the same handler delegate.
/// </summary>
internal interface IServerCallMessages<TRequest, TResponse> : IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    /// <summary>Reads the one request message of a unary or server-streaming call.</summary>
    ValueTask<TRequest> ReadSingleRequestAsync();

    /// <summary>Writes a response message; unary calls pass <paramref name="flush"/> = false.</summary>
    Task WriteMessageAsync(TResponse message, bool flush, CancellationToken cancellationToken = default);
}
