using System.Diagnostics;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Internal;

/// <summary>
/// The one place calls are made: address choice and failover, request metadata, per-attempt
/// deadlines, and retries with exponential backoff and full jitter for methods the protos declare
/// idempotent (<see cref="MethodTraits"/>), after UNAVAILABLE (and a read, after its attempt's deadline,
/// on the next address when there are several). A read answered from a replica's
/// memory (response metadata <see cref="LastContactHeader"/>: the replica cannot reach its store) is
/// asked once more of the next address, where another replica may have the store's current answer;
/// later calls stay there. When that answer is from memory too, or the next address fails, the first
/// answer is returned: the store is down for every replica, and a marked answer beats none.
/// </summary>
internal sealed class ControlPlaneInvoker : IControlPlaneInvoker, IDisposable
{
    /// <summary>Client activities ("controlplane.v1.RegistryService/Register"), for tracing listeners.</summary>
    public static readonly ActivitySource ActivitySource = new("ControlPlane.Sdk");

    private readonly ControlPlaneClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly AddressRotation _rotation;
    private readonly ChannelPool _channels;
    private readonly CallHeaders _headers;

    /// <summary>Response metadata of an answer a replica served from memory: milliseconds since its store last answered.</summary>
    public const string LastContactHeader = "x-platform-last-contact";

    public ControlPlaneInvoker(ControlPlaneClientOptions options, TimeProvider time, ILoggerFactory loggerFactory, Random? random = null, Func<string, string?>? getVariable = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Retry.MaxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Timeout, TimeSpan.Zero);
        // SocketsHttpHandler's own floor for the ping delay (infinite sends none); a timeout must be positive.
        if (options.KeepAliveInterval != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(options.KeepAliveInterval, TimeSpan.FromSeconds(1));
        }
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.KeepAliveTimeout, TimeSpan.Zero);
        _options = options;
        _time = time;
        _random = random ?? Random.Shared;
        _logger = loggerFactory.CreateLogger("ControlPlane.Sdk.ControlPlaneClient");
        _rotation = new AddressRotation(options.Addresses, options.StartAtRandomAddress ? _random : null);
        _channels = new ChannelPool(options, time, loggerFactory);
        getVariable ??= Environment.GetEnvironmentVariable;
        var platform = Secret.Read(options.PlatformTokenVariable, options.PlatformTokenFileVariable, getVariable);
        var dataplane = Secret.Read(options.DataplaneTokenVariable, options.DataplaneTokenFileVariable, getVariable);
        _headers = new CallHeaders(platform, dataplane, options.SendPlatformTokenOnEveryCall, options.AgentName);
        SdkLog.Created(_logger, string.Join(", ", _rotation.All), platform?.Source ?? "none", dataplane?.Source ?? "none");
    }

    public IReadOnlyList<Uri> Addresses => _rotation.All;

    public Uri CurrentAddress => _rotation.Current;

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        if (method.Type != MethodType.Unary)
        {
            throw new ArgumentException($"{method.FullName} is not a unary method.", nameof(method));
        }
        var traits = MethodTraits.Of(method.Descriptor);
        using var activity = ActivitySource.StartActivity(method.Path.TrimStart('/'), ActivityKind.Client);
        var current = activity ?? Activity.Current;
        // One request id for every attempt: the server's logs show the retries as one request.
        var headers = _headers.Build(traits, CallHeaders.RequestId(current), current);
        var maxAttempts = traits.Retryable ? _options.Retry.MaxAttempts : 1;
        var backoff = new ExponentialBackoff(_options.Retry.InitialBackoff, _options.Retry.MaxBackoff, _random);
        // A read answered from a replica's memory (an answer, or an error such as NOT_FOUND): the next
        // address is asked once; what it answers stands, unless it cannot answer at all.
        var askedNext = false;
        TResponse? fromMemory = null;
        RpcException? errorFromMemory = null;
        long memoryLastContact = 0;
        Uri? memoryAddress = null;

        // Keeps where the answer from memory came from, and moves to the next address for a fresh one.
        void AskNextOnce(Uri address, long since)
        {
            memoryLastContact = since;
            memoryAddress = address;
            askedNext = true;
            _rotation.Failed(address);
            SdkLog.ServedFromMemory(_logger, method.FullName, address, since, _rotation.Current);
        }

        for (var attempt = 1; ; attempt++)
        {
            var address = _rotation.Current;
            try
            {
                using var call = _channels.Get(address).AsyncUnaryCall(method, request, new CallOptions(headers, cancellationToken: cancellationToken) { Timeout = _options.Timeout });
                var response = await call.ResponseAsync.ConfigureAwait(false);
                var lastContact = traits.Read ? LastContact(await call.ResponseHeadersAsync.ConfigureAwait(false)) : null;
                if (lastContact is { } since && !askedNext && _rotation.All.Count > 1)
                {
                    // Another replica may reach the store: ask it once, keep this answer in case it cannot.
                    fromMemory = response;
                    AskNextOnce(address, since);
                    attempt--;
                    continue;
                }
                if (lastContact is { } stale)
                {
                    ReturnedFromMemory(method.FullName, address, stale);
                }
                return response;
            }
            catch (RpcException ex) when (askedNext && !cancellationToken.IsCancellationRequested && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                // The next replica could not answer: the answer from memory is the best there is.
                ReportUnavailable(address);
                ReturnedFromMemory(method.FullName, memoryAddress!, memoryLastContact);
                if (fromMemory is not null)
                {
                    return fromMemory;
                }
                activity?.SetStatus(ActivityStatusCode.Error, errorFromMemory!.StatusCode.ToString());
                throw new ControlPlaneException(method.FullName, memoryAddress!, attempt, errorFromMemory!, memoryLastContact);
            }
            catch (RpcException ex) when (!askedNext && !cancellationToken.IsCancellationRequested && traits.Read && _rotation.All.Count > 1
                && ex.StatusCode != StatusCode.Unavailable && LastContact(ex.Trailers) is { } since)
            {
                // An error from memory (NOT_FOUND of what another replica may have): ask the next one once.
                errorFromMemory = ex;
                AskNextOnce(address, since);
                attempt--;
            }
            catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"{method.FullName} was cancelled.", ex, cancellationToken);
            }
            catch (RpcException ex)
            {
                // A read whose attempt ran out of time (a replica waiting on a store it has just lost) is
                // safe to ask of the next address, as an unavailable one is.
                var failOver = ex.StatusCode == StatusCode.Unavailable || (traits.Read && ex.StatusCode == StatusCode.DeadlineExceeded && _rotation.All.Count > 1);
                if (failOver)
                {
                    ReportUnavailable(address);
                }
                if (!failOver || attempt >= maxAttempts)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, ex.StatusCode.ToString());
                    // An error from memory (NOT_FOUND of a replica cut off from its store) is marked as an answer is.
                    var stale = traits.Read && ex.StatusCode != StatusCode.Unavailable ? LastContact(ex.Trailers) : null;
                    if (stale is { } since)
                    {
                        ReturnedFromMemory(method.FullName, address, since);
                    }
                    throw new ControlPlaneException(method.FullName, address, attempt, ex, stale);
                }
                var delay = backoff.Next();
                SdkLog.Retrying(_logger, method.FullName, address, ex.StatusCode, ex.Status.Detail, attempt, maxAttempts, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>An answer from memory is returned: logged (9005) and recorded in the caller's <see cref="StaleReadScope"/>.</summary>
    private void ReturnedFromMemory(string method, Uri address, long lastContactMs)
    {
        SdkLog.ReturnedFromMemory(_logger, method, address, lastContactMs);
        StaleReadScope.Record(new StaleRead(method, address, lastContactMs));
    }

    /// <summary>The milliseconds since the store last answered, when the answer was served from memory.</summary>
    private static long? LastContact(Metadata headers) =>
        headers.GetValue(LastContactHeader) is { } value && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) ? ms : null;

    public ControlPlaneStream<TRequest, TResponse> OpenDuplexStream<TRequest, TResponse>(Method<TRequest, TResponse> method, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        var traits = MethodTraits.Of(method.Descriptor);
        var current = Activity.Current;
        var headers = _headers.Build(traits, CallHeaders.RequestId(current), current);
        var address = _rotation.Current;
        var call = _channels.Get(address).AsyncDuplexStreamingCall(method, new CallOptions(headers, cancellationToken: cancellationToken));
        return new ControlPlaneStream<TRequest, TResponse>(address, call, ReportUnavailable);
    }

    public void ReportUnavailable(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (_rotation.All.Count > 1 && _rotation.Failed(address))
        {
            SdkLog.FailedOver(_logger, address, _rotation.Current);
        }
    }

    public void Dispose() => _channels.Dispose();
}
