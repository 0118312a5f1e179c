package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// workloadGet sends a GET to rawURL with header, bounded by timeout, and
// returns the status and the body (at most 1 MiB). Transport errors drop the
// URL that net/http puts in them and never include the header.
func workloadGet(ctx context.Context, client *http.Client, timeout time.Duration, rawURL string, header http.Header) (int, []byte, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("could not build the request: %w", redactURLError(err))
	}
	req.Header = header
	resp, err := safehttp.NoRedirects(client).Do(req)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, fmt.Errorf("no answer within %s: %w", timeout, context.DeadlineExceeded)
		}
		return 0, nil, fmt.Errorf("could not reach the endpoint: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, workloadMaxBody+1))
	if err != nil {
		return 0, nil, fmt.Errorf("could not read the answer: %w", redactURLError(err))
	}
	if len(body) > workloadMaxBody {
		return 0, nil, fmt.Errorf("the answer is %w", errWorkloadTooLarge)
	}
	return resp.StatusCode, body, nil
}
